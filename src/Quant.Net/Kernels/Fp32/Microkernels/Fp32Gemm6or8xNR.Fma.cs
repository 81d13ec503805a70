using Quant.Net.Simd;
using System.Runtime.CompilerServices;

namespace Quant.Net.Kernels;

/// <summary>The height of an FP32 tile, as a type so that each height compiles to its own kernel (no runtime tests).</summary>
internal interface ITileRows
{
    static abstract int MR { get; }
}

/// <summary>6 rows: 12 accumulators, for 16-register files (AVX2, SSE) and AdvSimd.</summary>
internal readonly struct SixRows : ITileRows
{
    public static int MR => 6;
}

/// <summary>8 rows: 16 accumulators, two B loads and eight broadcasts per step for 16 FMAs, for AVX-512's 32 registers.</summary>
internal readonly struct EightRows : ITileRows
{
    public static int MR => 8;
}

/// <summary>
/// MR × (2 vectors) FP32 tile with fused multiply-add, written once over <see cref="ISimd{TF, TI}"/> and the tile
/// height: 8×32 on AVX-512, 6×16 on AVX2/FMA, 6×8 on SSE/AdvSimd. Each output accumulates over k in order with one FMA
/// per step, so every width and height (and the scalar path, which uses <see cref="MathF.FusedMultiplyAdd"/>) gives the
/// same bits.
/// </summary>
internal static class Fp32GemmTileFma
{
    /// <summary>Rows of the scalar path's tile.</summary>
    public const int ScalarRows = 6;

    /// <summary>
    /// C tile = clamp(A[MR, K] · Bpanel[K, NR] + bias, min, max), stored with <paramref name="cStride"/>. Row r's element
    /// t of A is at <paramref name="a"/> + <c>aRows.Row(r)</c> + <c>aRows.Step(t)</c> (a row-major A, or a convolution's
    /// output pixels reading their taps in a staged image); the packed panel <paramref name="b"/> holds its K rows of NR
    /// values back to back.
    /// </summary>
    public static void Compute<TV, TF, TI, TM, TA>(ref float a, TA aRows, ref float b, int k, ref float bias, float min, float max, ref float c, nint cStride)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct where TM : struct, ITileRows where TA : struct, IRowSteps
    {
        nint nr = 2 * TV.Count;
        bool eight = TM.MR == 8;
        TF c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        TF c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        ref float a0 = ref Unsafe.Add(ref a, aRows.Row(0));
        ref float a1 = ref Unsafe.Add(ref a, aRows.Row(1));
        ref float a2 = ref Unsafe.Add(ref a, aRows.Row(2));
        ref float a3 = ref Unsafe.Add(ref a, aRows.Row(3));
        ref float a4 = ref Unsafe.Add(ref a, aRows.Row(4));
        ref float a5 = ref Unsafe.Add(ref a, aRows.Row(5));
        ref float a6 = ref Unsafe.Add(ref a, eight ? aRows.Row(6) : 0);   // read only by the 8-row tile
        ref float a7 = ref Unsafe.Add(ref a, eight ? aRows.Row(7) : 0);
        for (nint t = 0; t < k; t++)
        {
            ref float bt = ref Unsafe.Add(ref b, t * nr);
            TF b0 = TV.Load(ref bt), b1 = TV.Load(ref Unsafe.Add(ref bt, TV.Count));
            nint s = aRows.Step(t);
            TF v = TV.Splat(Unsafe.Add(ref a0, s));
            c00 = TV.MultiplyAdd(v, b0, c00); c01 = TV.MultiplyAdd(v, b1, c01);
            v = TV.Splat(Unsafe.Add(ref a1, s));
            c10 = TV.MultiplyAdd(v, b0, c10); c11 = TV.MultiplyAdd(v, b1, c11);
            v = TV.Splat(Unsafe.Add(ref a2, s));
            c20 = TV.MultiplyAdd(v, b0, c20); c21 = TV.MultiplyAdd(v, b1, c21);
            v = TV.Splat(Unsafe.Add(ref a3, s));
            c30 = TV.MultiplyAdd(v, b0, c30); c31 = TV.MultiplyAdd(v, b1, c31);
            v = TV.Splat(Unsafe.Add(ref a4, s));
            c40 = TV.MultiplyAdd(v, b0, c40); c41 = TV.MultiplyAdd(v, b1, c41);
            v = TV.Splat(Unsafe.Add(ref a5, s));
            c50 = TV.MultiplyAdd(v, b0, c50); c51 = TV.MultiplyAdd(v, b1, c51);
            if (eight)
            {
                v = TV.Splat(Unsafe.Add(ref a6, s));
                c60 = TV.MultiplyAdd(v, b0, c60); c61 = TV.MultiplyAdd(v, b1, c61);
                v = TV.Splat(Unsafe.Add(ref a7, s));
                c70 = TV.MultiplyAdd(v, b0, c70); c71 = TV.MultiplyAdd(v, b1, c71);
            }
        }
        TF bias0 = TV.Load(ref bias), bias1 = TV.Load(ref Unsafe.Add(ref bias, TV.Count));
        TF lo = TV.Splat(min), hi = TV.Splat(max);
        StoreRow<TV, TF, TI>(c00, c01, ref c, bias0, bias1, lo, hi);
        StoreRow<TV, TF, TI>(c10, c11, ref Unsafe.Add(ref c, cStride), bias0, bias1, lo, hi);
        StoreRow<TV, TF, TI>(c20, c21, ref Unsafe.Add(ref c, 2 * cStride), bias0, bias1, lo, hi);
        StoreRow<TV, TF, TI>(c30, c31, ref Unsafe.Add(ref c, 3 * cStride), bias0, bias1, lo, hi);
        StoreRow<TV, TF, TI>(c40, c41, ref Unsafe.Add(ref c, 4 * cStride), bias0, bias1, lo, hi);
        StoreRow<TV, TF, TI>(c50, c51, ref Unsafe.Add(ref c, 5 * cStride), bias0, bias1, lo, hi);
        if (eight)
        {
            StoreRow<TV, TF, TI>(c60, c61, ref Unsafe.Add(ref c, 6 * cStride), bias0, bias1, lo, hi);
            StoreRow<TV, TF, TI>(c70, c71, ref Unsafe.Add(ref c, 7 * cStride), bias0, bias1, lo, hi);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TV, TF, TI>(TF left, TF right, ref float row, TF bias0, TF bias1, TF lo, TF hi)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct
    {
        TV.Store(TV.ClampOrdered(TV.Add(left, bias0), lo, hi), ref row);
        TV.Store(TV.ClampOrdered(TV.Add(right, bias1), lo, hi), ref Unsafe.Add(ref row, TV.Count));
    }

    /// <summary>The scalar path (<see cref="ScalarRows"/> rows): same order of FMAs per output element.</summary>
    public static void ComputeScalar<TA>(ref float a, TA aRows, ref float b, int k, int nr, ref float bias, float min, float max, ref float c, nint cStride)
        where TA : struct, IRowSteps
    {
        for (int r = 0; r < ScalarRows; r++)
        {
            ref float ar = ref Unsafe.Add(ref a, aRows.Row(r));
            for (int j = 0; j < nr; j++)
            {
                float acc = 0f;
                for (nint t = 0; t < k; t++) acc = MathF.FusedMultiplyAdd(Unsafe.Add(ref ar, aRows.Step(t)), Unsafe.Add(ref b, (t * nr) + j), acc);
                float y = acc + Unsafe.Add(ref bias, j);
                y = min > y ? min : y;
                Unsafe.Add(ref c, r * cStride + j) = max < y ? max : y;
            }
        }
    }
}
