using Quant.Net.Simd;
using System.Numerics;
using System.Numerics.Tensors;
using Quant.Net.Kernels;

namespace Quant.Net.Rounding;

public sealed partial class AdaRound
{
    /// <summary>
    /// Every sample's input rows packed once as GEMM B panels ([sample][panel][row][NR]), so a mini-batch's packed Xᵀ for
    /// the weight gradient is a few block copies instead of an element-by-element repack per iteration.
    /// </summary>
    private float[] PackedSamples()
    {
        if (_packedSamples is not null)
        {
            return _packedSamples;
        }

        int block = _rowsPerSample * _nr;
        var packed = new float[(long)Samples * _panels * block];
        for (int sample = 0; sample < Samples; sample++)
        {
            for (int r = 0; r < _rowsPerSample; r++)
            {
                long row = ((long)sample * _rowsPerSample) + r;
                for (int i = 0; i < _in; i++)
                {
                    packed[((long)sample * _panels * block) + PackedFloatWeights.PanelIndex(_rowsPerSample, _nr, r, i)] = _inputs[(row * _in) + i];
                }
            }
        }

        return _packedSamples = packed;
    }

    /// <summary>Fractional parts of W / scale (the starting point of h(V)).</summary>
    internal float[] Rest { get; }

    internal int Samples => _rows / _rowsPerSample;
}
