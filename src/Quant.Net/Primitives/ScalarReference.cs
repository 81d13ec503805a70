using System.Runtime.CompilerServices;

namespace Quant.Net;

/// <summary>
/// The scalar reference of every elementwise primitive: the definition of the results and the oracle every vector
/// path is tested against bit for bit. Zero points and integer bounds are passed as floats (they are exact integers).
/// </summary>
internal static class ScalarReference
{
    /// <summary>
    /// ONNX QuantizeLinear: <c>clamp(round_half_even(x / scale) + zeroPoint)</c>; ±∞ saturate and NaN gives qMin, as
    /// ONNX Runtime's MLAS kernels do (x86 <c>maxps</c> returns the bound when the value is NaN).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float QuantizeToFloat(float x, float scale, float zeroPoint, float qMin, float qMax)
    {
        if (float.IsNaN(x)) return qMin;
        float q = MathF.Round(x / scale, MidpointRounding.ToEven) + zeroPoint;
        return q < qMin ? qMin : q > qMax ? qMax : q;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Quantize(float x, float scale, float zeroPoint, float qMin, float qMax) =>
        (int)QuantizeToFloat(x, scale, zeroPoint, qMin, qMax);

    /// <summary>Stochastic rounding: <c>clamp(floor(x / scale + u) + zeroPoint)</c>, u uniform in [0, 1) from <see cref="Uniform"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int QuantizeStochastic(float x, float scale, float zeroPoint, float qMin, float qMax, uint seedMix, uint index)
    {
        if (float.IsNaN(x)) return (int)qMin;
        float q = MathF.Floor(x / scale + Uniform(seedMix, index)) + zeroPoint;
        return (int)(q < qMin ? qMin : q > qMax ? qMax : q);
    }

    /// <summary>Quantize then dequantize, in float: <c>(q - zeroPoint) * scale</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FakeQuantize(float x, float scale, float zeroPoint, float qMin, float qMax) =>
        (QuantizeToFloat(x, scale, zeroPoint, qMin, qMax) - zeroPoint) * scale;

    /// <summary>ONNX DequantizeLinear: <c>(q - zeroPoint) * scale</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dequantize(int q, float scale, float zeroPoint) => ((float)q - zeroPoint) * scale;

    /// <summary>Requantize an int32 accumulator with a float multiplier: <c>clamp(round_half_even((float)acc * multiplier) + zeroPoint)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Requantize(int accumulator, float multiplier, float zeroPoint, float qMin, float qMax)
    {
        float q = MathF.Round((float)accumulator * multiplier, MidpointRounding.ToEven) + zeroPoint;
        return (int)(q < qMin ? qMin : q > qMax ? qMax : q);
    }

    /// <summary>A uniform value in [0, 1) with 24 random bits, a pure function of the seed and the element's index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Uniform(uint seedMix, uint index) => (Mix(index ^ seedMix) >> 8) * (1f / (1 << 24));

    /// <summary>MurmurHash3's 32-bit finalizer: a bijection with good avalanche.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Mix(uint h)
    {
        h ^= h >> 16;
        h *= 0x85EBCA6Bu;
        h ^= h >> 13;
        h *= 0xC2B2AE35u;
        h ^= h >> 16;
        return h;
    }

    public static uint SeedMix(ulong seed) => Mix((uint)seed ^ Mix((uint)(seed >> 32) + 0x9E3779B9u));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Narrow<T>(int value) where T : unmanaged
    {
        if (typeof(T) == typeof(sbyte)) { sbyte v = (sbyte)value; return Unsafe.As<sbyte, T>(ref v); }
        if (typeof(T) == typeof(byte)) { byte v = (byte)value; return Unsafe.As<byte, T>(ref v); }
        if (typeof(T) == typeof(short)) { short v = (short)value; return Unsafe.As<short, T>(ref v); }
        ushort u = (ushort)value;
        return Unsafe.As<ushort, T>(ref u);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Widen<T>(T value) where T : unmanaged
    {
        if (typeof(T) == typeof(sbyte)) return Unsafe.As<T, sbyte>(ref value);
        if (typeof(T) == typeof(byte)) return Unsafe.As<T, byte>(ref value);
        if (typeof(T) == typeof(short)) return Unsafe.As<T, short>(ref value);
        return Unsafe.As<T, ushort>(ref value);
    }
}
