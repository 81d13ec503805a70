namespace Quant.Net;

/// <summary>Int4/uint4 storage as ONNX lays it out: two values per byte, the lower-indexed value in the low nibble.</summary>
public static class Int4Packing
{
    /// <summary>Bytes needed for <paramref name="count"/> 4-bit values.</summary>
    /// <param name="count">Number of values, ≥ 0.</param>
    public static int PackedLength(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return (int)(((long)count + 1) / 2);
    }

    /// <summary>Packs values in [-8, 15] (their low 4 bits) two per byte; an odd count leaves the last high nibble 0.</summary>
    /// <param name="values">The values; each must lie in [-8, 15].</param>
    /// <param name="packed">Destination of <see cref="PackedLength"/> bytes.</param>
    /// <exception cref="ArgumentException">The destination length is wrong or a value does not fit in 4 bits.</exception>
    public static void Pack(ReadOnlySpan<sbyte> values, Span<byte> packed)
    {
        if (packed.Length != PackedLength(values.Length))
            throw new ArgumentException($"Packing {values.Length} values needs {PackedLength(values.Length)} bytes, got {packed.Length}.", nameof(packed));
        foreach (sbyte v in values)
        {
            if (v < -8 || v > 15) throw new ArgumentException($"Value {v} does not fit in 4 bits.", nameof(values));
        }
        PackUnchecked(values, packed);
    }

    /// <summary>Unpacks <paramref name="values"/>.Length 4-bit values, sign-extending when <paramref name="isSigned"/>.</summary>
    /// <param name="packed">Packed bytes, exactly <see cref="PackedLength"/> of the value count.</param>
    /// <param name="values">Destination.</param>
    /// <param name="isSigned">Whether nibbles are int4 (sign-extended to [-8, 7]) or uint4 ([0, 15]).</param>
    /// <exception cref="ArgumentException">The packed length does not match.</exception>
    public static void Unpack(ReadOnlySpan<byte> packed, Span<sbyte> values, bool isSigned)
    {
        if (packed.Length != PackedLength(values.Length))
            throw new ArgumentException($"Unpacking {values.Length} values needs {PackedLength(values.Length)} bytes, got {packed.Length}.", nameof(packed));
        int pairs = values.Length / 2;
        for (int i = 0; i < pairs; i++)
        {
            byte b = packed[i];
            values[2 * i] = Nibble(b & 0xF, isSigned);
            values[2 * i + 1] = Nibble(b >> 4, isSigned);
        }
        if ((values.Length & 1) != 0) values[^1] = Nibble(packed[pairs] & 0xF, isSigned);
    }

    internal static void PackUnchecked(ReadOnlySpan<sbyte> values, Span<byte> packed)
    {
        int pairs = values.Length / 2;
        for (int i = 0; i < pairs; i++)
            packed[i] = (byte)((values[2 * i] & 0xF) | ((values[2 * i + 1] & 0xF) << 4));
        if ((values.Length & 1) != 0) packed[pairs] = (byte)(values[^1] & 0xF);
    }

    private static sbyte Nibble(int nibble, bool isSigned) => (sbyte)(isSigned ? (nibble ^ 8) - 8 : nibble);
}
