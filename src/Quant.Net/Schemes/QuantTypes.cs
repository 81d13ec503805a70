namespace Quant.Net;

/// <summary>The integer storage types the primitives support and their ranges.</summary>
internal static class QuantTypes
{
    public static (int Min, int Max) RangeOf<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(sbyte)) return (sbyte.MinValue, sbyte.MaxValue);
        if (typeof(T) == typeof(byte)) return (byte.MinValue, byte.MaxValue);
        if (typeof(T) == typeof(short)) return (short.MinValue, short.MaxValue);
        if (typeof(T) == typeof(ushort)) return (ushort.MinValue, ushort.MaxValue);
        throw new NotSupportedException($"Quantized storage type {typeof(T).Name} is not supported; use sbyte, byte, short or ushort.");
    }

    public static bool IsSupported<T>() where T : unmanaged =>
        typeof(T) == typeof(sbyte) || typeof(T) == typeof(byte) || typeof(T) == typeof(short) || typeof(T) == typeof(ushort);
}
