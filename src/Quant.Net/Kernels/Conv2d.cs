using System.Buffers;

namespace Quant.Net.Kernels;

/// <summary>
/// 2-D convolution (NCHW) as im2col + GEMM, FP32 and int8. Weights [OutChannels, InChannels / Groups, KH, KW] are
/// packed once per group as the GEMM's B; each image's patches form A, so a group computes
/// <c>columns[OH·OW, K] · Wᵀ[K, Cout/groups]</c>, which is then written back in NCHW order.
/// </summary>
public sealed class Conv2d
{
    private readonly float[]? _float; // [OutChannels, GroupK], the GEMM's A operand
    private readonly PackedInt8Weights[]? _int8;
    private readonly float[] _bias;

    private Conv2d(Conv2dShape shape, float[]? f, PackedInt8Weights[]? q, float[] bias)
    {
        Shape = shape;
        _float = f;
        _int8 = q;
        _bias = bias;
    }

    /// <summary>The geometry.</summary>
    public Conv2dShape Shape { get; }

    /// <summary>Whether the weights are int8 (input must then be quantized).</summary>
    public bool IsQuantized => _int8 is not null;

    /// <summary>An FP32 convolution.</summary>
    /// <param name="shape">The geometry.</param>
    /// <param name="weights">[OutChannels, InChannels / Groups, KH, KW], row-major.</param>
    /// <param name="bias">Empty or one per output channel.</param>
    public static Conv2d CreateFloat(Conv2dShape shape, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias)
    {
        ArgumentNullException.ThrowIfNull(shape);
        CheckWeights(shape, weights.Length, bias.Length);
        return new Conv2d(shape, weights.ToArray(), null, bias.IsEmpty ? new float[shape.OutChannels] : bias.ToArray());
    }

    /// <summary>An int8 convolution with per-output-channel (or one) weight scales and zero points.</summary>
    /// <param name="shape">The geometry.</param>
    /// <param name="weights">int8 [OutChannels, InChannels / Groups, KH, KW], row-major.</param>
    /// <param name="scales">One per output channel, or one for all; finite and &gt; 0.</param>
    /// <param name="zeroPoints">Empty (all 0), one, or one per output channel, in [-128, 127].</param>
    /// <param name="bias">Empty or one float per output channel (added after dequantization).</param>
    public static Conv2d CreateQuantized(Conv2dShape shape, ReadOnlySpan<sbyte> weights, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints, ReadOnlySpan<float> bias)
    {
        ArgumentNullException.ThrowIfNull(shape);
        int coutG = CheckWeights(shape, weights.Length, bias.Length);
        if (scales.Length != 1 && scales.Length != shape.OutChannels) throw new ArgumentException($"Expected 1 or {shape.OutChannels} scales, got {scales.Length}.", nameof(scales));
        if (zeroPoints.Length > 1 && zeroPoints.Length != shape.OutChannels) throw new ArgumentException($"Expected 0, 1 or {shape.OutChannels} zero points, got {zeroPoints.Length}.", nameof(zeroPoints));
        var packed = new PackedInt8Weights[shape.Groups];
        for (int g = 0; g < shape.Groups; g++)
        {
            var s = scales.Length == 1 ? scales : scales.Slice(g * coutG, coutG);
            var z = zeroPoints.Length <= 1 ? zeroPoints : zeroPoints.Slice(g * coutG, coutG);
            packed[g] = PackedInt8Weights.Pack(weights.Slice(g * coutG * shape.GroupK, coutG * shape.GroupK), shape.GroupK, coutG, WeightLayout.NByK, z, s);
        }
        return new Conv2d(shape, null, packed, bias.IsEmpty ? new float[shape.OutChannels] : bias.ToArray());
    }

    /// <summary>
    /// FP32 forward pass over a batch. Per image and group: the patches are packed straight into GEMM B panels
    /// (contiguous copies for stride 1), the weights [Cout/groups, K] are A, and the product lands in NCHW order.
    /// </summary>
    /// <param name="input">[batch, InChannels, height, width].</param>
    /// <param name="batch">Images, ≥ 0.</param>
    /// <param name="height">Input height.</param>
    /// <param name="width">Input width.</param>
    /// <param name="output">[batch, OutChannels, OH, OW] (see <see cref="Conv2dShape.OutputSize"/>).</param>
    /// <param name="activation">The clamp fused into the output.</param>
    /// <param name="maxDegreeOfParallelism">Threads for each GEMM (1, −1 for all cores, or a limit).</param>
    public void Run(ReadOnlySpan<float> input, int batch, int height, int width, Span<float> output, OutputClamp activation, int maxDegreeOfParallelism)
    {
        if (_float is null) throw new InvalidOperationException("This convolution has int8 weights; pass quantized input.");
        Parallelism.Validate(maxDegreeOfParallelism);
        var (oh, ow, k, coutG) = Check(input.Length, batch, height, width, output.Length);
        var level = SimdConfig.Best;
        int nr = Fp32Gemm.PanelWidth(level), positions = oh * ow, panels = (positions + nr - 1) / nr;
        float[] packed = ArrayPool<float>.Shared.Rent(panels * k * nr);
        try
        {
            for (int b = 0; b < batch; b++)
            {
                var image = input.Slice(b * Shape.InChannels * height * width, Shape.InChannels * height * width);
                for (int g = 0; g < Shape.Groups; g++)
                {
                    Shape.PackPatches(image, height, width, g, 0f, nr, packed.AsSpan(0, panels * k * nr), default);
                    var patches = PackedFloatWeights.Wrap(level, k, positions, packed);
                    var result = output.Slice((b * Shape.OutChannels + g * coutG) * positions, coutG * positions);
                    Fp32Gemm.Run(_float.AsSpan(g * coutG * k, coutG * k), coutG, patches, [], result, OutputClamp.None, maxDegreeOfParallelism);
                    for (int r = 0; r < coutG; r++) AddBiasAndClamp(result.Slice(r * positions, positions), _bias[g * coutG + r], activation);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packed);
        }
    }

    /// <summary>row = clamp(row + bias) with compare-and-select (NaN passes, −0 stays −0), vectorized.</summary>
    private static void AddBiasAndClamp(Span<float> row, float bias, OutputClamp clamp)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var vb = new System.Numerics.Vector<float>(bias);
            var lo = new System.Numerics.Vector<float>(clamp.Min);
            var hi = new System.Numerics.Vector<float>(clamp.Max);
            var vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(row);
            for (int v = 0; v < vectors.Length; v++)
            {
                var y = vectors[v] + vb;
                y = System.Numerics.Vector.ConditionalSelect(System.Numerics.Vector.GreaterThan(lo, y), lo, y);
                vectors[v] = System.Numerics.Vector.ConditionalSelect(System.Numerics.Vector.LessThan(hi, y), hi, y);
            }
            i = vectors.Length * System.Numerics.Vector<float>.Count;
        }
        for (; i < row.Length; i++)
        {
            float y = row[i] + bias;
            y = clamp.Min > y ? clamp.Min : y;
            row[i] = clamp.Max < y ? clamp.Max : y;
        }
    }

    /// <summary>Int8 forward pass over a batch of uint8 activations, dequantized to float (scale products, bias, clamp).</summary>
    /// <param name="input">[batch, InChannels, height, width] uint8 codes.</param>
    /// <param name="inputZeroPoint">The activations' zero point (also the padding value), in [0, 255].</param>
    /// <param name="inputScale">The activations' scale, finite and &gt; 0.</param>
    /// <param name="batch">Images, ≥ 0.</param>
    /// <param name="height">Input height.</param>
    /// <param name="width">Input width.</param>
    /// <param name="output">[batch, OutChannels, OH, OW] floats.</param>
    /// <param name="activation">The clamp fused into the output.</param>
    /// <param name="maxDegreeOfParallelism">Threads for each GEMM (1, −1 for all cores, or a limit).</param>
    public void Run(ReadOnlySpan<byte> input, int inputZeroPoint, float inputScale, int batch, int height, int width, Span<float> output, OutputClamp activation, int maxDegreeOfParallelism)
    {
        if (_int8 is null) throw new InvalidOperationException("This convolution has FP32 weights; pass float input.");
        if (inputZeroPoint is < 0 or > 255) throw new ArgumentOutOfRangeException(nameof(inputZeroPoint), inputZeroPoint, "The zero point must lie in [0, 255].");
        var (oh, ow, k, coutG) = Check(input.Length, batch, height, width, output.Length);
        byte[] columns = ArrayPool<byte>.Shared.Rent(oh * ow * k);
        float[] result = ArrayPool<float>.Shared.Rent(oh * ow * coutG);
        try
        {
            for (int b = 0; b < batch; b++)
            {
                var image = input.Slice(b * Shape.InChannels * height * width, Shape.InChannels * height * width);
                for (int g = 0; g < Shape.Groups; g++)
                {
                    // Padding holds the code of real 0: the zero point.
                    Shape.Im2Col(image, height, width, g, (byte)inputZeroPoint, columns.AsSpan(0, oh * ow * k));
                    Int8Gemm.Multiply(columns.AsSpan(0, oh * ow * k), oh * ow, inputZeroPoint, inputScale, _int8[g], _bias.AsSpan(g * coutG, coutG),
                        result.AsSpan(0, oh * ow * coutG), activation, maxDegreeOfParallelism);
                    Scatter(result, oh * ow, coutG, output.Slice((b * Shape.OutChannels + g * coutG) * oh * ow, coutG * oh * ow));
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(columns);
            ArrayPool<float>.Shared.Return(result);
        }
    }

    private static int CheckWeights(Conv2dShape shape, int weights, int bias)
    {
        if (weights != (long)shape.OutChannels * shape.GroupK)
            throw new ArgumentException($"Expected {(long)shape.OutChannels * shape.GroupK} weights for {shape.OutChannels}×{shape.InChannels / shape.Groups}×{shape.KernelHeight}×{shape.KernelWidth}, got {weights}.", nameof(weights));
        if (bias != 0 && bias != shape.OutChannels) throw new ArgumentException($"Bias must be empty or hold {shape.OutChannels} values, got {bias}.", nameof(bias));
        return shape.OutChannels / shape.Groups;
    }

    private (int OH, int OW, int K, int CoutG) Check(int inputLength, int batch, int height, int width, int outputLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        var (oh, ow) = Shape.OutputSize(height, width);
#pragma warning disable CA2208 // the exceptions name the caller's parameters input and output, whose lengths this helper checks
        if (inputLength != (long)batch * Shape.InChannels * height * width)
            throw new ArgumentException($"Input must hold {(long)batch * Shape.InChannels * height * width} values ([{batch}, {Shape.InChannels}, {height}, {width}]), got {inputLength}.", "input");
        if (outputLength != (long)batch * Shape.OutChannels * oh * ow)
            throw new ArgumentException($"Output must hold {(long)batch * Shape.OutChannels * oh * ow} values ([{batch}, {Shape.OutChannels}, {oh}, {ow}]), got {outputLength}.", "output");
#pragma warning restore CA2208
        return (oh, ow, Shape.GroupK, Shape.OutChannels / Shape.Groups);
    }

    /// <summary>[positions, channels] → [channels, positions].</summary>
    private static void Scatter(float[] result, int positions, int channels, Span<float> output)
    {
        for (int p = 0; p < positions; p++)
            for (int c = 0; c < channels; c++) output[c * positions + p] = result[p * channels + c];
    }
}
