using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quant.Net.Simd;

/// <summary>256-bit implementation of <see cref="ISimd{TF, TI}"/> (AVX2).</summary>
internal readonly struct Simd256 : ISimd<Vector256<float>, Vector256<int>>
{
    public static int Count => Vector256<float>.Count;
    public static Vector256<float> Load(ref float source) => Vector256.LoadUnsafe(ref source);
    public static void Store(Vector256<float> value, ref float destination) => value.StoreUnsafe(ref destination);
    public static Vector256<int> LoadInt(ref int source) => Vector256.LoadUnsafe(ref source);
    public static Vector256<float> Splat(float value) => Vector256.Create(value);
    public static Vector256<float> Add(Vector256<float> left, Vector256<float> right) => left + right;
    public static Vector256<float> Subtract(Vector256<float> left, Vector256<float> right) => left - right;
    public static Vector256<float> Multiply(Vector256<float> left, Vector256<float> right) => left * right;
    public static Vector256<float> Divide(Vector256<float> left, Vector256<float> right) => left / right;
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
    public static Vector256<float> MinNative(Vector256<float> left, Vector256<float> right) => Vector256.MinNative(left, right);
    public static Vector256<float> MaxNative(Vector256<float> left, Vector256<float> right) => Vector256.MaxNative(left, right);
    public static float MinAcross(Vector256<float> value)
    {
        float min = value.GetElement(0);
        for (int i = 1; i < Vector256<float>.Count; i++) min = Math.Min(min, value.GetElement(i));
        return min;
    }

    public static float MaxAcross(Vector256<float> value)
    {
        float max = value.GetElement(0);
        for (int i = 1; i < Vector256<float>.Count; i++) max = Math.Max(max, value.GetElement(i));
        return max;
    }

    public static float SumAcross(Vector256<float> value) => Vector256.Sum(value);
    public static Vector256<float> Abs(Vector256<float> value) => Vector256.Abs(value);
    public static Vector256<float> EqualMask(Vector256<float> left, Vector256<float> right) => Vector256.Equals(left, right);
    public static Vector256<float> AndBits(Vector256<float> left, Vector256<float> right) => left & right;
    public static bool AnyGreaterThan(Vector256<float> left, Vector256<float> right) => Vector256.GreaterThanAny(left, right);
    public static bool AllEqual(Vector256<float> left, Vector256<float> right) => Vector256.EqualsAll(left, right);
    public static Vector256<float> Round(Vector256<float> value) => Vector256.Round(value);
    public static Vector256<float> Floor(Vector256<float> value) => Vector256.Floor(value);
    public static Vector256<float> Clamp(Vector256<float> value, Vector256<float> min, Vector256<float> max) =>
        Avx.IsSupported
            ? Avx.Min(Avx.Max(value, min), max) // maxps returns its second operand when either is NaN
            : Vector256.ConditionalSelect(Vector256.Equals(value, value), Vector256.MinNative(Vector256.MaxNative(value, min), max), min);
    // x86 converts with the MXCSR rounding mode, which .NET keeps at round-to-nearest-even.
    public static Vector256<float> ClampOrdered(Vector256<float> value, Vector256<float> min, Vector256<float> max)
    {
        value = Vector256.ConditionalSelect(Vector256.GreaterThan(min, value), min, value);
        return Vector256.ConditionalSelect(Vector256.LessThan(max, value), max, value);
    }

    public static Vector256<int> ConvertToInt32RoundEven(Vector256<float> value) =>
        Avx.IsSupported ? Avx.ConvertToVector256Int32(value) : Vector256.ConvertToInt32Native(Vector256.Round(value));
    public static Vector256<int> ToInt32(Vector256<float> value) => Vector256.ConvertToInt32Native(value);
    public static Vector256<float> ToSingle(Vector256<int> value) => Vector256.ConvertToSingle(value);
    public static Vector256<int> SplatInt(int value) => Vector256.Create(value);
    public static Vector256<int> Indices => Vector256<int>.Indices;
    public static Vector256<int> AddInt(Vector256<int> left, Vector256<int> right) => left + right;
    public static Vector256<int> MultiplyLow(Vector256<int> left, Vector256<int> right) => left * right;
    public static Vector256<int> Xor(Vector256<int> left, Vector256<int> right) => left ^ right;
    public static Vector256<int> And(Vector256<int> left, Vector256<int> right) => left & right;
    public static Vector256<int> ShiftRightLogical(Vector256<int> value, int count) => Vector256.ShiftRightLogical(value, count);

    public static void LoadWiden4<T>(ref T source, out Vector256<int> v0, out Vector256<int> v1, out Vector256<int> v2, out Vector256<int> v3)
        where T : unmanaged
    {
        if (typeof(T) == typeof(sbyte))
        {
            var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref Unsafe.As<T, sbyte>(ref source)));
            (v0, v1) = Vector256.Widen(lo);
            (v2, v3) = Vector256.Widen(hi);
        }
        else if (typeof(T) == typeof(byte))
        {
            var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref Unsafe.As<T, byte>(ref source)));
            var (a, b) = Vector256.Widen(lo);
            var (c, d) = Vector256.Widen(hi);
            (v0, v1, v2, v3) = (a.AsInt32(), b.AsInt32(), c.AsInt32(), d.AsInt32());
        }
        else if (typeof(T) == typeof(short))
        {
            ref short s = ref Unsafe.As<T, short>(ref source);
            (v0, v1) = Vector256.Widen(Vector256.LoadUnsafe(ref s));
            (v2, v3) = Vector256.Widen(Vector256.LoadUnsafe(ref s, (nuint)Vector256<short>.Count));
        }
        else if (typeof(T) == typeof(ushort))
        {
            ref ushort s = ref Unsafe.As<T, ushort>(ref source);
            var (a, b) = Vector256.Widen(Vector256.LoadUnsafe(ref s));
            var (c, d) = Vector256.Widen(Vector256.LoadUnsafe(ref s, (nuint)Vector256<ushort>.Count));
            (v0, v1, v2, v3) = (a.AsInt32(), b.AsInt32(), c.AsInt32(), d.AsInt32());
        }
        else
        {
            throw new NotSupportedException(typeof(T).Name);
        }
    }

    public static void StoreNarrow4<T>(Vector256<int> v0, Vector256<int> v1, Vector256<int> v2, Vector256<int> v3, ref T destination)
        where T : unmanaged
    {
        // Lanes are already clamped to T's range, so truncating narrows give the saturated values.
        if (Unsafe.SizeOf<T>() == 1)
        {
            Vector256<sbyte> bytes = Vector256.Narrow(Vector256.Narrow(v0, v1), Vector256.Narrow(v2, v3));
            bytes.StoreUnsafe(ref Unsafe.As<T, sbyte>(ref destination));
        }
        else
        {
            ref short s = ref Unsafe.As<T, short>(ref destination);
            Vector256.Narrow(v0, v1).StoreUnsafe(ref s);
            Vector256.Narrow(v2, v3).StoreUnsafe(ref s, (nuint)Vector256<short>.Count);
        }
    }
}
