namespace Quant.Net;

/// <summary>
/// What a quantized tensor looks like: bit width (2..16), signedness, symmetric or asymmetric range, narrow range
/// (for example int8 in [-127, 127]) and granularity. Immutable; presets cover the common cases.
/// </summary>
/// <remarks>
/// Integer range: signed <c>[-2^(b-1), 2^(b-1)-1]</c>, unsigned <c>[0, 2^b-1]</c>; narrow range drops the lowest code
/// (signed <c>[-2^(b-1)+1, 2^(b-1)-1]</c>, unsigned <c>[1, 2^b-1]</c>) so that the range is symmetric around the
/// symmetric zero point.
/// </remarks>
public readonly record struct QuantScheme
{
    /// <summary>Creates a scheme.</summary>
    /// <param name="bitWidth">Bits per value, 2..16.</param>
    /// <param name="isSigned">Whether stored integers are signed.</param>
    /// <param name="isSymmetric">Whether the range is symmetric around zero (zero point fixed at the middle of the integer range).</param>
    /// <param name="isNarrowRange">Whether the lowest integer code is left unused.</param>
    /// <param name="granularity">Per-tensor, per-channel or per-block.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bitWidth"/> is outside 2..16.</exception>
    public QuantScheme(int bitWidth, bool isSigned, bool isSymmetric, bool isNarrowRange = false, QuantGranularity granularity = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bitWidth, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bitWidth, 16);
        BitWidth = bitWidth;
        IsSigned = isSigned;
        IsSymmetric = isSymmetric;
        IsNarrowRange = isNarrowRange;
        Granularity = granularity;
    }

    /// <summary>Bits per value, 2..16.</summary>
    public int BitWidth { get; }

    /// <summary>Whether stored integers are signed.</summary>
    public bool IsSigned { get; }

    /// <summary>Whether the range is symmetric around zero.</summary>
    public bool IsSymmetric { get; }

    /// <summary>Whether the lowest integer code is unused (int8 in [-127, 127]).</summary>
    public bool IsNarrowRange { get; }

    /// <summary>Per-tensor, per-channel or per-block.</summary>
    public QuantGranularity Granularity { get; }

    /// <summary>The smallest integer code.</summary>
    public int QMin => (IsSigned ? -(1 << (BitWidth - 1)) : 0) + (IsNarrowRange ? 1 : 0);

    /// <summary>The largest integer code.</summary>
    public int QMax => IsSigned ? (1 << (BitWidth - 1)) - 1 : (1 << BitWidth) - 1;

    /// <summary>Returns the same scheme with another granularity.</summary>
    /// <param name="granularity">The new granularity.</param>
    public QuantScheme WithGranularity(QuantGranularity granularity) => new(BitWidth, IsSigned, IsSymmetric, IsNarrowRange, granularity);

    /// <summary>int8 weights: symmetric, narrow range [-127, 127], per output channel along <paramref name="axis"/> (AIMET/ORT default for Conv/Gemm weights).</summary>
    /// <param name="axis">The output-channel axis (0 for Conv and for Gemm with transB=1).</param>
    public static QuantScheme Int8SymmetricPerChannel(int axis = 0) => new(8, true, true, true, QuantGranularity.PerChannel(axis));

    /// <summary>int8 weights: symmetric, narrow range [-127, 127], one scale for the whole tensor.</summary>
    public static QuantScheme Int8SymmetricPerTensor => new(8, true, true, true);

    /// <summary>uint8 activations: asymmetric [0, 255], per tensor (ONNX Runtime's default activation type).</summary>
    public static QuantScheme UInt8Asymmetric => new(8, false, false);

    /// <summary>int8 activations: asymmetric [-128, 127], per tensor.</summary>
    public static QuantScheme Int8Asymmetric => new(8, true, false);

    /// <summary>int16 activations or weights: symmetric [-32768, 32767] with zero point 0, per tensor.</summary>
    public static QuantScheme Int16Symmetric => new(16, true, true);

    /// <summary>uint16 activations: asymmetric [0, 65535], per tensor.</summary>
    public static QuantScheme UInt16Asymmetric => new(16, false, false);

    /// <summary>int4 weights quantized in blocks along <paramref name="axis"/> (LLM weight-only style): symmetric [-8, 7].</summary>
    /// <param name="axis">The reduction (K) axis the blocks run along.</param>
    /// <param name="blockSize">Elements per block (16, 32, 64, 128 or 256 are the usual choices).</param>
    public static QuantScheme Int4Block(int axis, int blockSize = 32) => new(4, true, true, false, QuantGranularity.PerBlock(axis, blockSize));

    /// <inheritdoc/>
    public override string ToString() =>
        $"{(IsSigned ? "int" : "uint")}{BitWidth} {(IsSymmetric ? "symmetric" : "asymmetric")}{(IsNarrowRange ? " narrow" : "")} {Granularity}";
}
