using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quant.Net.Simd;

/// <summary>The finite range of a span and what was left out of it.</summary>
internal readonly record struct FiniteRange(float Min, float Max, long FiniteCount, long NaNCount, long PositiveInfinityCount, long NegativeInfinityCount)
{
    public static FiniteRange Empty => new(float.PositiveInfinity, float.NegativeInfinity, 0, 0, 0, 0);

    public FiniteRange Combine(FiniteRange other) => new(
        Math.Min(Min, other.Min), Math.Max(Max, other.Max), FiniteCount + other.FiniteCount, NaNCount + other.NaNCount,
        PositiveInfinityCount + other.PositiveInfinityCount, NegativeInfinityCount + other.NegativeInfinityCount);
}

/// <summary>
/// One pass over the data for its minimum and maximum (four independent vector accumulators), with non-finite values
/// detected on the way by accumulating <c>x - x</c> (0 for finite x, NaN otherwise); only a span that holds NaN or ±∞
/// takes a second, filtering pass.
/// </summary>
internal static class RangeKernels
{
    public static FiniteRange Compute(SimdLevel level, ReadOnlySpan<float> data)
    {
        ref float x = ref MemoryMarshal.GetReference(data);
        nuint n = (nuint)data.Length;
        (float min, float max, bool finite) = level switch
        {
            SimdLevel.Vector512 => MinMax<Simd512, Vector512<float>, Vector512<int>>(ref x, n),
            SimdLevel.Vector256 => MinMax<Simd256, Vector256<float>, Vector256<int>>(ref x, n),
            SimdLevel.Vector128 => MinMax<Simd128, Vector128<float>, Vector128<int>>(ref x, n),
            _ => (0f, 0f, false),
        };
        return finite ? new FiniteRange(min, max, data.Length, 0, 0, 0) : Filtering(data);
    }

    /// <summary>The scalar reference: skips and counts NaN and ±∞.</summary>
    public static FiniteRange Filtering(ReadOnlySpan<float> data)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        long nan = 0, positive = 0, negative = 0;
        foreach (float v in data)
        {
            if (float.IsNaN(v)) nan++;
            else if (float.IsPositiveInfinity(v)) positive++;
            else if (float.IsNegativeInfinity(v)) negative++;
            else
            {
                if (v < min) min = v;
                if (v > max) max = v;
            }
        }
        return new FiniteRange(min, max, data.Length - nan - positive - negative, nan, positive, negative);
    }

    private static (float Min, float Max, bool AllFinite) MinMax<TV, TF, TI>(ref float x, nuint n)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct
    {
        nuint count = (nuint)TV.Count, i = 0;
        if (n < 4 * count) return Scalar(ref x, 0, n, float.PositiveInfinity, float.NegativeInfinity, 0f);
        TF min0 = TV.Load(ref x), min1 = min0, min2 = min0, min3 = min0;
        TF max0 = min0, max1 = min0, max2 = min0, max3 = min0;
        TF check0 = TV.Splat(0f), check1 = check0;
        for (; i + 4 * count <= n; i += 4 * count)
        {
            TF a = TV.Load(ref Unsafe.Add(ref x, i)), b = TV.Load(ref Unsafe.Add(ref x, i + count));
            TF c = TV.Load(ref Unsafe.Add(ref x, i + 2 * count)), d = TV.Load(ref Unsafe.Add(ref x, i + 3 * count));
            min0 = TV.MinNative(min0, a); max0 = TV.MaxNative(max0, a);
            min1 = TV.MinNative(min1, b); max1 = TV.MaxNative(max1, b);
            min2 = TV.MinNative(min2, c); max2 = TV.MaxNative(max2, c);
            min3 = TV.MinNative(min3, d); max3 = TV.MaxNative(max3, d);
            check0 = TV.Add(check0, TV.Add(TV.Subtract(a, a), TV.Subtract(b, b)));
            check1 = TV.Add(check1, TV.Add(TV.Subtract(c, c), TV.Subtract(d, d)));
        }
        float min = TV.MinAcross(TV.MinNative(TV.MinNative(min0, min1), TV.MinNative(min2, min3)));
        float max = TV.MaxAcross(TV.MaxNative(TV.MaxNative(max0, max1), TV.MaxNative(max2, max3)));
        float check = TV.SumAcross(TV.Add(check0, check1));
        return Scalar(ref x, i, n, min, max, check);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float Min, float Max, bool AllFinite) Scalar(ref float x, nuint start, nuint n, float min, float max, float check)
    {
        for (nuint i = start; i < n; i++)
        {
            float v = Unsafe.Add(ref x, i);
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            check += v - v;
        }
        return (min, max, check == 0f);
    }
}
