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

        int window = shape.Skip(2).Aggregate(1, (a, b) => a * b);
        var flat = encode(scheme.WithGranularity(QuantGranularity.PerBlock(1, g.BlockSize * window)), [shape[0], shape[1] * window]);
        var scales = new float[flat.Count * window];
        var zeroPoints = new int[flat.Count * window];
        for (int i = 0; i < flat.Count; i++)
        {
            scales.AsSpan(i * window, window).Fill(flat.Scales[i]);
            zeroPoints.AsSpan(i * window, window).Fill(flat.ZeroPoints[i]);
        }

        return new QuantEncoding(scheme, scales, zeroPoints);
    }
}
