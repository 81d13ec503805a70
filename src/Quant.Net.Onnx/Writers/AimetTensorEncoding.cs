namespace Quant.Net.Onnx;

/// <summary>
/// One tensor's encoding as AIMET stores it: unsigned codes q ∈ [0, 2^bw − 1] with <c>x = (q + offset) · scale</c>, so
/// offsets are ≤ 0 (<c>offset = −(zero_point − qmin)</c> of a signed or unsigned ONNX encoding). Symmetric 8-bit
/// encodings have offset −128 (AIMET's default) or −127 (strict symmetric); unsigned symmetric ones have offset 0.
/// </summary>
/// <param name="Name">Tensor name.</param>
/// <param name="IsParameter">True for weights/constants (param_encodings), false for activations (format 2.0.0 does not say: false).</param>
/// <param name="BitWidth">Bits (for <see cref="AimetEncodingType.Lpbq"/>, the decompressed width; for floats, 16 or 32).</param>
/// <param name="IsSymmetric">Symmetric encoding.</param>
/// <param name="Scales">One scale per channel/block (one for per-tensor; per channel for LPBQ; none for floats), flattened in AIMET's order.</param>
/// <param name="Offsets">AIMET offsets, one per scale.</param>
/// <param name="BlockSize">Block size for per-block and LPBQ encodings.</param>
public sealed record AimetTensorEncoding(string Name, bool IsParameter, int BitWidth, bool IsSymmetric, IReadOnlyList<float> Scales, IReadOnlyList<int> Offsets, int? BlockSize)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);

    private readonly AimetEncodingType? _type;

    /// <summary>The encoding type (by default: per-block with a block size, per-channel with several scales, else per-tensor).</summary>
    public AimetEncodingType Type
    {
        get => _type ?? (BlockSize is not null ? AimetEncodingType.PerBlock : Scales.Count > 1 ? AimetEncodingType.PerChannel : AimetEncodingType.PerTensor);
        init => _type = value;
    }

    /// <summary>LPBQ: bits of the per-block codes (<see cref="BitWidth"/> is the decompressed width).</summary>
    public int? CompressedBitWidth { get; init; }

    /// <summary>LPBQ: the integer scale of each block, in [1, 2^(bw − compressed_bw)], flattened in AIMET's order.</summary>
    public IReadOnlyList<int>? PerBlockIntScales { get; init; }

    /// <summary>Whether the codes are signed in ONNX terms (int8 rather than uint8); from the writer's scheme, or, when read, from the file (2.0.0 <c>output_dtype</c>) or AIMET's rule (symmetric and not unsigned).</summary>
    public bool IsSigned { get; init; }

    /// <summary>The scales' shape when the writer knew it (per-channel: [C]; per-block: the weight's shape with the block axis divided); used by format 2.0.0.</summary>
    public IReadOnlyList<int>? ScaleShape { get; init; }

    /// <summary>The channel (or block) axis when the writer or the file (2.0.0 <c>axis</c>) gave it.</summary>
    public int? Axis { get; init; }

    /// <summary>AIMET's strict symmetric: every offset is −2^(bw−1) + 1 (int8 codes in [−127, 127]).</summary>
    public bool IsStrictSymmetric => IsSymmetric && Type != AimetEncodingType.FloatingPoint && Offsets.Count > 0 && Offsets.All(o => o == StrictOffset(CodeBits));

    /// <summary>AIMET's unsigned symmetric: symmetric with every offset 0 (non-negative data on unsigned codes).</summary>
    public bool IsUnsignedSymmetric => IsSymmetric && Type != AimetEncodingType.FloatingPoint && Offsets.Count > 0 && Offsets.All(o => o == 0);

    /// <summary>Bits of the codes: <see cref="CompressedBitWidth"/> for LPBQ, else <see cref="BitWidth"/>.</summary>
    internal int CodeBits => Type == AimetEncodingType.Lpbq ? CompressedBitWidth ?? BitWidth : BitWidth;

    internal static int StrictOffset(int bits) => -(1 << (bits - 1)) + 1;

    /// <summary>
    /// The encoding as a <see cref="QuantEncoding"/> for <paramref name="scheme"/> (which decides signedness and
    /// granularity). The file's strictness is kept: a strict symmetric encoding needs a narrow-range scheme and a
    /// non-strict one a full-range scheme (else the zero point would be off by one).
    /// </summary>
    /// <exception cref="ArgumentException">The entry is a float or LPBQ entry, or its bit width, strictness or number of scales does not fit the scheme (the tensor is named).</exception>
    public QuantEncoding ToQuantEncoding(QuantScheme scheme)
    {
        if (Type is AimetEncodingType.FloatingPoint or AimetEncodingType.Lpbq)
        {
            throw new ArgumentException($"Encoding of '{Name}' is {Type}; it has no single integer scale per {(Type == AimetEncodingType.Lpbq ? "block" : "value")} to import.", nameof(scheme));
        }

        if (scheme.BitWidth != BitWidth)
        {
            throw new ArgumentException($"Encoding of '{Name}' has {BitWidth} bits; the scheme has {scheme.BitWidth}.", nameof(scheme));
        }

        if (scheme.IsNarrowRange && Offsets.Any(o => o == -(1 << (BitWidth - 1)) && IsSymmetric))
        {
            throw new ArgumentException($"Encoding of '{Name}' is non-strict symmetric (offset {Offsets[0]}); the scheme is narrow (strict). Quantize its weights non-strict.", nameof(scheme));
        }

        var zeroPoints = Offsets.Select(o => scheme.QMin - o).ToArray();
        if (zeroPoints.Any(z => z < scheme.QMin || z > scheme.QMax))
        {
            throw new ArgumentException($"Encoding of '{Name}' has offsets outside the {scheme} code range.", nameof(scheme));
        }

        return new QuantEncoding(scheme, [.. Scales], zeroPoints);
    }
}
