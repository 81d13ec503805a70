namespace Quant.Net.Onnx;

/// <summary>One tensor's encoding as AIMET stores it (unsigned-domain offsets: <c>offset = −(zero_point − qmin)</c>).</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="IsParameter">True for weights/constants (param_encodings), false for activations.</param>
/// <param name="BitWidth">Bits.</param>
/// <param name="IsSymmetric">Symmetric encoding.</param>
/// <param name="Scales">One scale per channel/block (one for per-tensor).</param>
/// <param name="Offsets">AIMET offsets, one per scale.</param>
/// <param name="BlockSize">Block size for per-block encodings.</param>
public sealed record AimetTensorEncoding(string Name, bool IsParameter, int BitWidth, bool IsSymmetric, IReadOnlyList<float> Scales, IReadOnlyList<int> Offsets, int? BlockSize)
{
    /// <summary>The encoding as a <see cref="QuantEncoding"/> for <paramref name="scheme"/> (which decides signedness and granularity).</summary>
    /// <exception cref="ArgumentException">Bit width or number of scales does not fit the scheme.</exception>
    public QuantEncoding ToQuantEncoding(QuantScheme scheme)
    {
        if (scheme.BitWidth != BitWidth)
        {
            throw new ArgumentException($"Encoding of '{Name}' has {BitWidth} bits; the scheme has {scheme.BitWidth}.", nameof(scheme));
        }

        var zeroPoints = Offsets.Select(o => scheme.QMin - o).ToArray();
        if (zeroPoints.Any(z => z < scheme.QMin || z > scheme.QMax))
        {
            throw new ArgumentException($"Encoding of '{Name}' has offsets outside the {scheme} code range.", nameof(scheme));
        }

        return new QuantEncoding(scheme, [.. Scales], zeroPoints);
    }
}
