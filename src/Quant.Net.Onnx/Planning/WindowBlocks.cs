namespace Quant.Net.Onnx;

/// <summary>
/// Blocks of a convolution weight [O, I, kH, kW] along its input channels span the whole kernel window, as AIMET and
/// QNN define block quantization: one scale per (output channel, block of input channels). In memory such a block is
/// contiguous, so the weight is encoded as [O, I·kH·kW] in blocks of B·kH·kW, and each scale is then repeated over the
/// window for ONNX's blocked DequantizeLinear, which wants scales of shape [O, ⌈I/B⌉, kH, kW].
/// </summary>
internal static class WindowBlocks
{
    /// <summary>The encoding of a tensor of <paramref name="shape"/> under <paramref name="scheme"/>, computed by <paramref name="encode"/>.</summary>
    public static QuantEncoding Encode(QuantScheme scheme, int[] shape, Func<QuantScheme, int[], QuantEncoding> encode)
    {
        var g = scheme.Granularity;
        if (g.Kind != QuantGranularityKind.PerBlock || shape.Length <= 2 || (g.Axis < 0 ? g.Axis + shape.Length : g.Axis) != 1)
        {
            return encode(scheme, shape);
        }

        int window = Window(shape);
        var flat = encode(scheme.WithGranularity(QuantGranularity.PerBlock(1, g.BlockSize * window)), [shape[0], shape[1] * window]);
        return new QuantEncoding(scheme, Expand(flat.Scales.ToArray(), window), Expand(flat.ZeroPoints.ToArray(), window));
    }

    /// <summary>Elements of the kernel window of a weight [O, I, kH, kW, …]: the product of the dimensions after the first two.</summary>
    public static int Window(IReadOnlyList<int> shape) => shape.Skip(2).Aggregate(1, (a, b) => a * b);

    /// <summary>Each value repeated <paramref name="window"/> times: one per (output channel, block) to ONNX's [O, I/B, kH, kW].</summary>
    public static T[] Expand<T>(IReadOnlyList<T> values, int window)
    {
        var expanded = new T[values.Count * window];
        for (int i = 0; i < values.Count; i++)
        {
            expanded.AsSpan(i * window, window).Fill(values[i]);
        }

        return expanded;
    }
}
