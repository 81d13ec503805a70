using Quant.Net.Simd;
using System.Numerics;
using System.Numerics.Tensors;
using Quant.Net.Kernels;

namespace Quant.Net.Rounding;

/// <summary>
/// AdaRound (Nagel et al., 2020) for one layer written as y = f(x·W̃ᵀ + b), W [out, in] (a convolution as its patch
/// matrix): learns for each weight whether to round down or up, minimizing ‖f(W̃x) − target‖² plus
/// λ·Σ(1 − |2h(V) − 1|^β) with h the rectified sigmoid (ζ = 1.1, γ = −0.1), β annealed from 20 to 2 after a warm start,
/// Adam on V. Gradients are in closed form; the GEMMs are <see cref="Fp32Gemm"/>.
/// </summary>
public sealed partial class AdaRound
{
    private const float Zeta = 1.1f, Gamma = -0.1f;
    private readonly int _out, _in, _rows, _rowsPerSample;
    private readonly float[] _floor, _scale, _bias;
    private readonly float[] _inputs, _targets;
    private readonly int _qMin, _qMax;
    private readonly int[] _zeroPoints;
    private readonly bool _relu;
    private readonly int _nr, _panels;
    private float[]? _packedSamples;

    /// <summary>Prepares the optimization of one layer.</summary>
    /// <param name="weights">W [out, in], row-major.</param>
    /// <param name="inFeatures">Inputs per output (for a convolution: in channels / groups × kernel height × width).</param>
    /// <param name="outFeatures">Output channels.</param>
    /// <param name="bias">out biases, or empty.</param>
    /// <param name="encoding">Per-tensor or per-channel (axis 0) encoding of W; its scales stay fixed.</param>
    /// <param name="inputs">Layer inputs [rows, in], from the model with earlier layers already quantized.</param>
    /// <param name="targets">FP32 layer outputs [rows, out] (after the fused ReLU when <paramref name="relu"/>).</param>
    /// <param name="rowsPerSample">Rows that form one sample (1 for a linear layer; output positions for a convolution).</param>
    /// <param name="relu">Reconstruct after a fused ReLU.</param>
    /// <exception cref="ArgumentException">Lengths do not match the shapes, or the encoding is not per-tensor/per-channel on axis 0.</exception>
    public AdaRound(ReadOnlySpan<float> weights, int inFeatures, int outFeatures, ReadOnlySpan<float> bias, QuantEncoding encoding,
        float[] inputs, float[] targets, int rowsPerSample = 1, bool relu = false)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsPerSample, 1);
        if (weights.Length != (long)outFeatures * inFeatures)
        {
            throw new ArgumentException($"Expected {outFeatures} × {inFeatures} weights, got {weights.Length}.", nameof(weights));
        }

        if (bias.Length != 0 && bias.Length != outFeatures)
        {
            throw new ArgumentException($"bias must be empty or hold {outFeatures} values.", nameof(bias));
        }

        var g = encoding.Scheme.Granularity;
        bool perChannel = g.Kind == QuantGranularityKind.PerChannel && (g.Axis == 0 || g.Axis == -2) && encoding.Count == outFeatures;
        if (!(g.Kind == QuantGranularityKind.PerTensor || perChannel))
        {
            throw new ArgumentException("AdaRound needs a per-tensor or per-output-channel (axis 0) weight encoding.", nameof(encoding));
        }

        if (inputs.Length % inFeatures != 0 || inputs.Length / inFeatures * (long)outFeatures != targets.Length || inputs.Length == 0)
        {
            throw new ArgumentException($"inputs [rows, {inFeatures}] and targets [rows, {outFeatures}] must have the same number of rows.", nameof(targets));
        }

        _rows = inputs.Length / inFeatures;
        if (_rows % rowsPerSample != 0)
        {
            throw new ArgumentException($"{_rows} rows are not a whole number of samples of {rowsPerSample} rows.", nameof(rowsPerSample));
        }

        (_out, _in, _rowsPerSample, _relu, _inputs, _targets) = (outFeatures, inFeatures, rowsPerSample, relu, inputs, targets);
        _bias = bias.IsEmpty ? new float[outFeatures] : bias.ToArray();
        (_qMin, _qMax) = (encoding.Scheme.QMin, encoding.Scheme.QMax);
        _scale = new float[outFeatures];
        _zeroPoints = new int[outFeatures];
        _floor = new float[weights.Length];
        Rest = new float[weights.Length];
        for (int o = 0; o < outFeatures; o++)
        {
            var p = encoding[perChannel ? o : 0];
            _scale[o] = p.Scale;
            _zeroPoints[o] = p.ZeroPoint;
            for (int i = 0; i < inFeatures; i++)
            {
                float v = weights[(o * inFeatures) + i] / p.Scale;
                float f = MathF.Floor(v);
                _floor[(o * inFeatures) + i] = f;
                Rest[(o * inFeatures) + i] = v - f;
            }
        }

        _nr = Fp32Gemm.PanelWidth(IsaConfig.Best.Elementwise);
        _panels = (_in + _nr - 1) / _nr;
    }

    /// <summary>Runs the optimization.</summary>
    /// <param name="options">Iterations, batch, regularization, seed; AIMET's defaults when null.</param>
    /// <param name="progress">Receives the iterations done (a few times per second at most, and at the end); the result does not depend on it.</param>
    /// <param name="cancellationToken">Checked at every iteration.</param>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public AdaRoundResult Optimize(AdaRoundOptions? options = null, IProgress<WorkProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Optimize(options, progress, null, cancellationToken);

    /// <summary>As the public overload, timing progress reports with <paramref name="time"/> (the system clock when null).</summary>
    internal AdaRoundResult Optimize(AdaRoundOptions? options, IProgress<WorkProgress>? progress, TimeProvider? time, CancellationToken cancellationToken)
    {
        options ??= new AdaRoundOptions();
        options.Validate();
        var reporter = new ThrottledProgress(progress, options.Iterations, cancellationToken, time);
        var v = InitialV();
        var m = new float[v.Length];
        var s = new float[v.Length];
        var grad = new float[v.Length];
        var random = new Random(options.Seed);
        int batchSamples = Math.Min(options.BatchSize, Samples);
        int drawn = Math.Min(options.RowsPerSample ?? _rowsPerSample, _rowsPerSample);
        var batch = new int[batchSamples * drawn];
        int warm = (int)(options.Iterations * options.WarmStart);
        const float Beta1 = 0.9f, Beta2 = 0.999f;
        for (int t = 0; t < options.Iterations; t++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (int b = 0; b < batchSamples; b++)
            {
                int sample = random.Next(Samples);
                for (int r = 0; r < drawn; r++)
                {
                    batch[(b * drawn) + r] = (sample * _rowsPerSample) + (drawn == _rowsPerSample ? r : random.Next(_rowsPerSample));
                }
            }

            float beta = 0f, lambda = 0f;
            if (t >= warm)
            {
                double progressRatio = (double)(t - warm) / Math.Max(1, options.Iterations - warm);
                beta = (float)(options.BetaEnd + (0.5 * (options.BetaStart - options.BetaEnd) * (1 + Math.Cos(progressRatio * Math.PI))));
                lambda = options.RegularizationWeight;
            }

            LossAndGradient(v, batch, beta, lambda, grad, options.MaxDegreeOfParallelism, computeLoss: false);
            float correction1 = 1f - MathF.Pow(Beta1, t + 1), correction2 = 1f - MathF.Pow(Beta2, t + 1);
            AdamStep(v, m, s, grad, options.LearningRate / correction1, 1f / correction2);

            reporter.Step(t + 1);
        }

        var hard = new float[v.Length];
        int changed = 0;
        for (int i = 0; i < v.Length; i++)
        {
            hard[i] = H(v[i]) >= 0.5f ? 1f : 0f;
            changed += hard[i] != (Rest[i] >= 0.5f ? 1f : 0f) ? 1 : 0;
        }

        var codes = Codes(hard);
        var rounded = Dequantize(codes);
        var nearest = Dequantize(Codes([.. Rest.Select(r => MathF.Round(r, MidpointRounding.ToEven))]));
        var result = new AdaRoundResult(codes, rounded, ReconstructionMse(nearest, options.MaxDegreeOfParallelism), ReconstructionMse(rounded, options.MaxDegreeOfParallelism), changed);
        reporter.Complete();
        return result;
    }

    private int[] Codes(float[] up)
    {
        var codes = new int[up.Length];
        for (int i = 0; i < up.Length; i++)
        {
            codes[i] = (int)Math.Clamp(_floor[i] + up[i] + _zeroPoints[i / _in], _qMin, _qMax);
        }

        return codes;
    }

    private float[] Dequantize(int[] codes)
    {
        var w = new float[codes.Length];
        for (int i = 0; i < codes.Length; i++)
        {
            int o = i / _in;
            w[i] = (codes[i] - _zeroPoints[o]) * _scale[o];
        }

        return w;
    }

    /// <summary>Mean squared error of f(X·Wᵀ + b) against the targets over every row.</summary>
    public double ReconstructionMse(ReadOnlySpan<float> weights, int maxDegreeOfParallelism = 1)
    {
        var packed = PackedFloatWeights.Pack(weights, _in, _out, WeightLayout.NByK);
        var y = new float[_rows * _out];
        Fp32Gemm.Multiply(_inputs, _rows, packed, _bias, y, _relu ? OutputClamp.Relu : OutputClamp.None, maxDegreeOfParallelism);
        double sum = 0;
        for (int i = 0; i < y.Length; i++)
        {
            double d = y[i] - _targets[i];
            sum += d * d;
        }

        return sum / y.Length;
    }

}
