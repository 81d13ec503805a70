using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quant.Net.Simd;

/// <summary>512-bit implementation of <see cref="ISimd{TF, TI}"/> (AVX-512F/BW).</summary>
internal readonly struct Simd512 : ISimd<Vector512<float>, Vector512<int>>
{
    public static int Count => Vector512<float>.Count;
    public static Vector512<float> Load(ref float source) => Vector512.LoadUnsafe(ref source);
    public static void Store(Vector512<float> value, ref float destination) => value.StoreUnsafe(ref destination);
    public static Vector512<int> LoadInt(ref int source) => Vector512.LoadUnsafe(ref source);
    public static Vector512<float> Splat(float value) => Vector512.Create(value);
    public static Vector512<float> Add(Vector512<float> left, Vector512<float> right) => left + right;
    public static Vector512<float> Subtract(Vector512<float> left, Vector512<float> right) => left - right;
    public static Vector512<float> Multiply(Vector512<float> left, Vector512<float> right) => left * right;
    public static Vector512<float> Divide(Vector512<float> left, Vector512<float> right) => left / right;
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    public static Vector512<float> MinNative(Vector512<float> left, Vector512<float> right) => Vector512.MinNative(left, right);
    public static Vector512<float> MaxNative(Vector512<float> left, Vector512<float> right) => Vector512.MaxNative(left, right);
    public static float MinAcross(Vector512<float> value)
    {
        float min = value.GetElement(0);
        for (int i = 1; i < Vector512<float>.Count; i++) min = Math.Min(min, value.GetElement(i));
        return min;
    }

    public static float MaxAcross(Vector512<float> value)
    {
        float max = value.GetElement(0);
        for (int i = 1; i < Vector512<float>.Count; i++) max = Math.Max(max, value.GetElement(i));
        return max;
    }

    public static float SumAcross(Vector512<float> value) => Vector512.Sum(value);
    public static Vector512<float> Abs(Vector512<float> value) => Vector512.Abs(value);
    public static Vector512<float> EqualMask(Vector512<float> left, Vector512<float> right) => Vector512.Equals(left, right);
    public static Vector512<float> AndBits(Vector512<float> left, Vector512<float> right) => left & right;
    public static bool AnyGreaterThan(Vector512<float> left, Vector512<float> right) => Vector512.GreaterThanAny(left, right);
    public static bool AllEqual(Vector512<float> left, Vector512<float> right) => Vector512.EqualsAll(left, right);
    public static Vector512<float> Round(Vector512<float> value) => Vector512.Round(value);
    public static Vector512<float> Floor(Vector512<float> value) => Vector512.Floor(value);
    public static Vector512<float> Clamp(Vector512<float> value, Vector512<float> min, Vector512<float> max) =>
        Avx512F.IsSupported
            ? Avx512F.Min(Avx512F.Max(value, min), max) // maxps returns its second operand when either is NaN
            : Vector512.ConditionalSelect(Vector512.Equals(value, value), Vector512.MinNative(Vector512.MaxNative(value, min), max), min);
    // x86 converts with the MXCSR rounding mode, which .NET keeps at round-to-nearest-even.
    public static Vector512<float> ClampOrdered(Vector512<float> value, Vector512<float> min, Vector512<float> max)
    {
        value = Vector512.ConditionalSelect(Vector512.GreaterThan(min, value), min, value);
        return Vector512.ConditionalSelect(Vector512.LessThan(max, value), max, value);
    }

    public static Vector512<int> ConvertToInt32RoundEven(Vector512<float> value) =>
        Avx512F.IsSupported ? Avx512F.ConvertToVector512Int32(value) : Vector512.ConvertToInt32Native(Vector512.Round(value));
    public static Vector512<int> ToInt32(Vector512<float> value) => Vector512.ConvertToInt32Native(value);
    public static Vector512<float> ToSingle(Vector512<int> value) => Vector512.ConvertToSingle(value);
    public static Vector512<int> SplatInt(int value) => Vector512.Create(value);
    public static Vector512<int> Indices => Vector512<int>.Indices;
    public static Vector512<int> AddInt(Vector512<int> left, Vector512<int> right) => left + right;
    public static Vector512<int> MultiplyLow(Vector512<int> left, Vector512<int> right) => left * right;
    public static Vector512<int> Xor(Vector512<int> left, Vector512<int> right) => left ^ right;
    public static Vector512<int> And(Vector512<int> left, Vector512<int> right) => left & right;
    public static Vector512<int> ShiftRightLogical(Vector512<int> value, int count) => Vector512.ShiftRightLogical(value, count);

    public static void LoadWiden4<T>(ref T source, out Vector512<int> v0, out Vector512<int> v1, out Vector512<int> v2, out Vector512<int> v3)
        where T : unmanaged
    {
        if (typeof(T) == typeof(sbyte))
        {
            var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref Unsafe.As<T, sbyte>(ref source)));
            (v0, v1) = Vector512.Widen(lo);
            (v2, v3) = Vector512.Widen(hi);
        }
        else if (typeof(T) == typeof(byte))
        {
            var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref Unsafe.As<T, byte>(ref source)));
            var (a, b) = Vector512.Widen(lo);
            var (c, d) = Vector512.Widen(hi);
            (v0, v1, v2, v3) = (a.AsInt32(), b.AsInt32(), c.AsInt32(), d.AsInt32());
        }
        else if (typeof(T) == typeof(short))
        {
            ref short s = ref Unsafe.As<T, short>(ref source);
            (v0, v1) = Vector512.Widen(Vector512.LoadUnsafe(ref s));
            (v2, v3) = Vector512.Widen(Vector512.LoadUnsafe(ref s, (nuint)Vector512<short>.Count));
        }
        else if (typeof(T) == typeof(ushort))
        {
            ref ushort s = ref Unsafe.As<T, ushort>(ref source);
            var (a, b) = Vector512.Widen(Vector512.LoadUnsafe(ref s));
            var (c, d) = Vector512.Widen(Vector512.LoadUnsafe(ref s, (nuint)Vector512<ushort>.Count));
            (v0, v1, v2, v3) = (a.AsInt32(), b.AsInt32(), c.AsInt32(), d.AsInt32());
        }
        else
        {
            throw new NotSupportedException(typeof(T).Name);
        }
    }

    public static void StoreNarrow4<T>(Vector512<int> v0, Vector512<int> v1, Vector512<int> v2, Vector512<int> v3, ref T destination)
        where T : unmanaged
    {
        // Lanes are already clamped to T's range, so truncating narrows give the saturated values.
        if (Unsafe.SizeOf<T>() == 1)
        {
            Vector512<sbyte> bytes = Vector512.Narrow(Vector512.Narrow(v0, v1), Vector512.Narrow(v2, v3));
            bytes.StoreUnsafe(ref Unsafe.As<T, sbyte>(ref destination));
        }
        else
        {
            ref short s = ref Unsafe.As<T, short>(ref destination);
            Vector512.Narrow(v0, v1).StoreUnsafe(ref s);
            Vector512.Narrow(v2, v3).StoreUnsafe(ref s, (nuint)Vector512<short>.Count);
        }
    }
}
