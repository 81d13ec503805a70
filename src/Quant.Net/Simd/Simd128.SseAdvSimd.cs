using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Quant.Net.Simd;

/// <summary>128-bit implementation of <see cref="ISimd{TF, TI}"/> (SSE4.1 on x86, AdvSimd on ARM).</summary>
internal readonly struct Simd128 : ISimd<Vector128<float>, Vector128<int>>
{
    public static int Count => Vector128<float>.Count;
    public static Vector128<float> Load(ref float source) => Vector128.LoadUnsafe(ref source);
    public static void Store(Vector128<float> value, ref float destination) => value.StoreUnsafe(ref destination);
    public static Vector128<int> LoadInt(ref int source) => Vector128.LoadUnsafe(ref source);
    public static Vector128<float> Splat(float value) => Vector128.Create(value);
    public static Vector128<float> Add(Vector128<float> left, Vector128<float> right) => left + right;
    public static Vector128<float> Subtract(Vector128<float> left, Vector128<float> right) => left - right;
    public static Vector128<float> Multiply(Vector128<float> left, Vector128<float> right) => left * right;
    public static Vector128<float> Divide(Vector128<float> left, Vector128<float> right) => left / right;
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.FusedMultiplyAdd(a, b, c);
    public static Vector128<float> MinNative(Vector128<float> left, Vector128<float> right) => Vector128.MinNative(left, right);
    public static Vector128<float> MaxNative(Vector128<float> left, Vector128<float> right) => Vector128.MaxNative(left, right);
    public static float MinAcross(Vector128<float> value)
    {
        float min = value.GetElement(0);
        for (int i = 1; i < Vector128<float>.Count; i++) min = Math.Min(min, value.GetElement(i));
        return min;
    }

    public static float MaxAcross(Vector128<float> value)
    {
        float max = value.GetElement(0);
        for (int i = 1; i < Vector128<float>.Count; i++) max = Math.Max(max, value.GetElement(i));
        return max;
    }

    public static float SumAcross(Vector128<float> value) => Vector128.Sum(value);
    public static Vector128<float> Abs(Vector128<float> value) => Vector128.Abs(value);
    public static Vector128<float> EqualMask(Vector128<float> left, Vector128<float> right) => Vector128.Equals(left, right);
    public static Vector128<float> AndBits(Vector128<float> left, Vector128<float> right) => left & right;
    public static bool AnyGreaterThan(Vector128<float> left, Vector128<float> right) => Vector128.GreaterThanAny(left, right);
    public static bool AllEqual(Vector128<float> left, Vector128<float> right) => Vector128.EqualsAll(left, right);
    public static Vector128<float> Round(Vector128<float> value) => Vector128.Round(value);
    public static Vector128<float> Floor(Vector128<float> value) => Vector128.Floor(value);
    public static Vector128<float> Clamp(Vector128<float> value, Vector128<float> min, Vector128<float> max) =>
        Sse.IsSupported
            ? Sse.Min(Sse.Max(value, min), max) // maxps returns its second operand when either is NaN
            : AdvSimd.IsSupported
                ? AdvSimd.MinNumber(AdvSimd.MaxNumber(value, min), max) // fmaxnm returns the number when one operand is NaN
                : Vector128.ConditionalSelect(Vector128.Equals(value, value), Vector128.MinNative(Vector128.MaxNative(value, min), max), min);
    // x86 converts with the MXCSR rounding mode, which .NET keeps at round-to-nearest-even.
    public static Vector128<float> ClampOrdered(Vector128<float> value, Vector128<float> min, Vector128<float> max)
    {
        value = Vector128.ConditionalSelect(Vector128.GreaterThan(min, value), min, value);
        return Vector128.ConditionalSelect(Vector128.LessThan(max, value), max, value);
    }

    public static Vector128<int> ConvertToInt32RoundEven(Vector128<float> value) =>
        Sse2.IsSupported ? Sse2.ConvertToVector128Int32(value) : AdvSimd.IsSupported ? AdvSimd.ConvertToInt32RoundToEven(value) : Vector128.ConvertToInt32Native(Vector128.Round(value));
    public static Vector128<int> ToInt32(Vector128<float> value) => Vector128.ConvertToInt32Native(value);
    public static Vector128<float> ToSingle(Vector128<int> value) => Vector128.ConvertToSingle(value);
    public static Vector128<int> SplatInt(int value) => Vector128.Create(value);
    public static Vector128<int> Indices => Vector128<int>.Indices;
    public static Vector128<int> AddInt(Vector128<int> left, Vector128<int> right) => left + right;
    public static Vector128<int> MultiplyLow(Vector128<int> left, Vector128<int> right) => left * right;
    public static Vector128<int> Xor(Vector128<int> left, Vector128<int> right) => left ^ right;
    public static Vector128<int> And(Vector128<int> left, Vector128<int> right) => left & right;
    public static Vector128<int> ShiftRightLogical(Vector128<int> value, int count) => Vector128.ShiftRightLogical(value, count);

    public static void LoadWiden4<T>(ref T source, out Vector128<int> v0, out Vector128<int> v1, out Vector128<int> v2, out Vector128<int> v3)
        where T : unmanaged
    {
        if (typeof(T) == typeof(sbyte))
        {
            var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref Unsafe.As<T, sbyte>(ref source)));
            (v0, v1) = Vector128.Widen(lo);
            (v2, v3) = Vector128.Widen(hi);
        }
        else if (typeof(T) == typeof(byte))
        {
            var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref Unsafe.As<T, byte>(ref source)));
            var (a, b) = Vector128.Widen(lo);
            var (c, d) = Vector128.Widen(hi);
            (v0, v1, v2, v3) = (a.AsInt32(), b.AsInt32(), c.AsInt32(), d.AsInt32());
        }
        else if (typeof(T) == typeof(short))
        {
            ref short s = ref Unsafe.As<T, short>(ref source);
            (v0, v1) = Vector128.Widen(Vector128.LoadUnsafe(ref s));
            (v2, v3) = Vector128.Widen(Vector128.LoadUnsafe(ref s, (nuint)Vector128<short>.Count));
        }
        else if (typeof(T) == typeof(ushort))
        {
            ref ushort s = ref Unsafe.As<T, ushort>(ref source);
            var (a, b) = Vector128.Widen(Vector128.LoadUnsafe(ref s));
            var (c, d) = Vector128.Widen(Vector128.LoadUnsafe(ref s, (nuint)Vector128<ushort>.Count));
            (v0, v1, v2, v3) = (a.AsInt32(), b.AsInt32(), c.AsInt32(), d.AsInt32());
        }
        else
        {
            throw new NotSupportedException(typeof(T).Name);
        }
    }

    public static void StoreNarrow4<T>(Vector128<int> v0, Vector128<int> v1, Vector128<int> v2, Vector128<int> v3, ref T destination)
        where T : unmanaged
    {
        // Lanes are already clamped to T's range, so truncating narrows give the saturated values.
        if (Unsafe.SizeOf<T>() == 1)
        {
            Vector128<sbyte> bytes = Vector128.Narrow(Vector128.Narrow(v0, v1), Vector128.Narrow(v2, v3));
            bytes.StoreUnsafe(ref Unsafe.As<T, sbyte>(ref destination));
        }
        else
        {
            ref short s = ref Unsafe.As<T, short>(ref destination);
            Vector128.Narrow(v0, v1).StoreUnsafe(ref s);
            Vector128.Narrow(v2, v3).StoreUnsafe(ref s, (nuint)Vector128<short>.Count);
        }
    }
}
