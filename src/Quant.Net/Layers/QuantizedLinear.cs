using Quant.Net.Simd;
using System.Buffers;
using Quant.Net.Kernels;

namespace Quant.Net.Layers;

/// <summary>
/// A fully connected layer running in int8: <c>y = x · Wᵀ + b</c> with W quantized once (int8, per output channel by
/// default) and x quantized to uint8 on every call — dynamically from the batch's own range, or with a fixed
/// calibrated encoding — then multiplied exactly in integers and dequantized to float.
/// </summary>
public sealed class QuantizedLinear
{
    private readonly PackedInt8Weights _weights;
    private readonly float[] _bias;

    /// <summary>Quantizes FP32 weights and builds the layer.</summary>
    /// <param name="weights">[outFeatures, inFeatures], row-major (PyTorch/ONNX Gemm with transB = 1).</param>
    /// <param name="inFeatures">Input features, ≥ 1.</param>
    /// <param name="outFeatures">Output features, ≥ 1.</param>
    /// <param name="bias">Empty or one per output feature.</param>
    /// <param name="weightScheme">An 8-bit signed scheme, per tensor or per channel along axis 0 (default: <see cref="QuantScheme.Int8SymmetricPerChannel"/>).</param>
    /// <param name="inputEncoding">A fixed uint8 encoding for the input, or null to quantize each batch from its own min/max.</param>
    public QuantizedLinear(ReadOnlySpan<float> weights, int inFeatures, int outFeatures, ReadOnlySpan<float> bias, QuantScheme? weightScheme = null, QuantParams? inputEncoding = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        if (weights.Length != (long)inFeatures * outFeatures) throw new ArgumentException($"Expected {(long)inFeatures * outFeatures} weights, got {weights.Length}.", nameof(weights));
        if (!bias.IsEmpty && bias.Length != outFeatures) throw new ArgumentException($"Bias must be empty or hold {outFeatures} values, got {bias.Length}.", nameof(bias));
        var scheme = weightScheme ?? QuantScheme.Int8SymmetricPerChannel(axis: 0);
        WeightEncoding = LayerQuantization.QuantizeWeights(weights, [outFeatures, inFeatures], scheme, nameof(weightScheme), out sbyte[] q);
        InputEncoding = LayerQuantization.CheckInputEncoding(inputEncoding, nameof(inputEncoding));
        _weights = PackedInt8Weights.Pack(q, inFeatures, outFeatures, WeightLayout.NByK, WeightEncoding.ZeroPoints, WeightEncoding.Scales);
        _bias = bias.IsEmpty ? [] : bias.ToArray();
        (InFeatures, OutFeatures) = (inFeatures, outFeatures);
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>The weights' encoding (per channel or per tensor).</summary>
    public QuantEncoding WeightEncoding { get; }

    /// <summary>The fixed input encoding, or null for dynamic quantization.</summary>
    public QuantParams? InputEncoding { get; }

    /// <summary>Bytes of int8 weights this layer holds (FP32 would need four times as many).</summary>
    public long WeightBytes => (long)InFeatures * OutFeatures;

    /// <summary>y = clamp(x · Wᵀ + b) for a batch of rows.</summary>
    /// <param name="input">[batch, InFeatures].</param>
    /// <param name="output">[batch, OutFeatures].</param>
    /// <param name="activation">The clamp fused into the output (default: none).</param>
    /// <param name="maxDegreeOfParallelism">Threads (1, −1 for all cores, or a limit).</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    public void Forward(ReadOnlySpan<float> input, Span<float> output, OutputClamp activation = default, int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null)
    {
        int batch = Rows(input.Length, output.Length);
        byte[] codes = ArrayPool<byte>.Shared.Rent(input.Length);
        try
        {
            var p = LayerQuantization.QuantizeInput(input, codes.AsSpan(0, input.Length), InputEncoding);
            Int8Gemm.Multiply(codes.AsSpan(0, input.Length), batch, p, _weights, _bias, output, activation, maxDegreeOfParallelism, pool);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(codes);
        }
    }
    /// <summary>The batch size, after checking that input and output hold whole rows of the same batch.</summary>
    private int Rows(int inputLength, int outputLength)
    {
#pragma warning disable CA2208 // the exceptions name the callers' parameters input and output
        if (inputLength % InFeatures != 0) throw new ArgumentException($"Input length {inputLength} is not a whole number of rows of {InFeatures}.", "input");
        int batch = inputLength / InFeatures;
        if (outputLength != (long)batch * OutFeatures) throw new ArgumentException($"Output must hold {(long)batch * OutFeatures} values, got {outputLength}.", "output");
#pragma warning restore CA2208
        return batch;
    }

    /// <summary>
    /// y = x · Wᵀ + b requantized to uint8 with <paramref name="outputEncoding"/>, as ONNX QLinearMatMul/QLinearGemm:
    /// the bias is rounded to int32 at scale <c>inputScale · weightScale[n]</c>, then
    /// <c>q = saturate(round((acc + bias) · inputScale · weightScale[n] / outputScale) + outputZeroPoint)</c>.
    /// For chaining int8 layers without a float round trip.
    /// </summary>
    /// <param name="input">[batch, InFeatures].</param>
    /// <param name="output">[batch, OutFeatures] uint8 codes.</param>
    /// <param name="outputEncoding">The output's uint8 encoding.</param>
    /// <param name="maxDegreeOfParallelism">Threads (1, −1 for all cores, or a limit).</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    public void Forward(ReadOnlySpan<float> input, Span<byte> output, QuantParams outputEncoding, int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null)
    {
        if (outputEncoding.QMin < 0 || outputEncoding.QMax > 255)
            throw new ArgumentException($"The output encoding must fit uint8, not [{outputEncoding.QMin}, {outputEncoding.QMax}].", nameof(outputEncoding));
        int batch = Rows(input.Length, output.Length);
        byte[] codes = ArrayPool<byte>.Shared.Rent(input.Length);
        int[] bias = ArrayPool<int>.Shared.Rent(OutFeatures);
        float[] multipliers = ArrayPool<float>.Shared.Rent(OutFeatures);
        try
        {
            var p = LayerQuantization.QuantizeInput(input, codes.AsSpan(0, input.Length), InputEncoding);
            for (int n = 0; n < OutFeatures; n++)
            {
                float accumulatorScale = p.Scale * _weights.Scales[n];
                bias[n] = _bias.Length == 0 ? 0 : (int)Math.Clamp(Math.Round(_bias[n] / (double)accumulatorScale, MidpointRounding.ToEven), int.MinValue / 2, int.MaxValue / 2);
                multipliers[n] = accumulatorScale / outputEncoding.Scale;
            }
            Int8Gemm.Multiply(codes.AsSpan(0, input.Length), batch, p.ZeroPoint, _weights, bias.AsSpan(0, OutFeatures), multipliers.AsSpan(0, OutFeatures),
                outputEncoding.ZeroPoint, output, maxDegreeOfParallelism, pool);
            // Narrow ranges (QMin > 0 or QMax < 255) saturate further.
            if (outputEncoding.QMin > 0 || outputEncoding.QMax < 255)
                foreach (ref byte v in output) v = (byte)Math.Clamp(v, outputEncoding.QMin, outputEncoding.QMax);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(codes);
            ArrayPool<int>.Shared.Return(bias);
            ArrayPool<float>.Shared.Return(multipliers);
        }
    }
}

/// <summary>The quantization steps the layers share.</summary>
internal static class LayerQuantization
{
    public static QuantEncoding QuantizeWeights(ReadOnlySpan<float> weights, int[] shape, QuantScheme scheme, string schemeName, out sbyte[] codes)
    {
        if (scheme.BitWidth != 8 || !scheme.IsSigned)
            throw new ArgumentException($"Layer weights must use a signed 8-bit scheme, not {scheme}.", schemeName);
        var g = scheme.Granularity;
        if (!(g.Kind == QuantGranularityKind.PerTensor || (g.Kind == QuantGranularityKind.PerChannel && (g.Axis == 0 || g.Axis == -shape.Length))))
            throw new ArgumentException($"Layer weights are quantized per tensor or per output channel (axis 0), not {g}.", schemeName);
        var encoding = QuantEncoding.FromTensor(scheme, weights, shape);
        codes = new sbyte[weights.Length];
        QuantOps.Quantize<sbyte>(weights, shape, encoding, codes);
        return encoding;
    }

    public static QuantParams? CheckInputEncoding(QuantParams? encoding, string name)
    {
        if (encoding is QuantParams p && (p.QMin < 0 || p.QMax > 255))
            throw new ArgumentException($"The input encoding must fit uint8, not [{p.QMin}, {p.QMax}].", name);
        return encoding;
    }

    /// <summary>Quantizes the input with the fixed encoding, or one computed from the input's own finite min/max.</summary>
    public static QuantParams QuantizeInput(ReadOnlySpan<float> input, Span<byte> codes, QuantParams? fixedEncoding)
    {
        QuantParams p;
        if (fixedEncoding is QuantParams given) p = given;
        else
        {
            var range = RangeKernels.Compute(IsaConfig.Best.Elementwise, input);
            p = range.FiniteCount == 0 ? QuantParams.FromRange(QuantScheme.UInt8Asymmetric, 0, 0) : QuantParams.FromRange(QuantScheme.UInt8Asymmetric, range.Min, range.Max);
        }
        QuantOps.Quantize(input, codes, p);
        return p;
    }
}
