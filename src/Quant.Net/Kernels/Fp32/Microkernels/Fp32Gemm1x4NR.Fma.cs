using Quant.Net.Simd;
using System.Runtime.CompilerServices;

namespace Quant.Net.Kernels;

/// <summary>
/// One row × four panels (8 vectors: 128 columns on AVX-512), FP32 FMA: the GEMV kernel. Eight independent
/// accumulation chains hide FMA latency while each output still sums over k in order, so the bits match the 6-row
/// kernel and the scalar path exactly.
/// </summary>
internal static class Fp32Gemm1x4NRFma
{
    /// <summary>C[0, 4·NR] = clamp(a · B (4 consecutive panels) + bias).</summary>
    public static void Compute<TV, TF, TI>(ref float a, ref float b, int k, nint panelStride, ref float bias, float min, float max, ref float c)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct
    {
        nint count = TV.Count, nr = 2 * count;
        TF c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        ref float b1 = ref Unsafe.Add(ref b, panelStride);
        ref float b2 = ref Unsafe.Add(ref b, 2 * panelStride);
        ref float b3 = ref Unsafe.Add(ref b, 3 * panelStride);
        for (nint t = 0; t < k; t++)
        {
            TF v = TV.Splat(Unsafe.Add(ref a, t));
            nint o = t * nr;
            c00 = TV.MultiplyAdd(v, TV.Load(ref Unsafe.Add(ref b, o)), c00);
            c01 = TV.MultiplyAdd(v, TV.Load(ref Unsafe.Add(ref b, o + count)), c01);
            c10 = TV.MultiplyAdd(v, TV.Load(ref Unsafe.Add(ref b1, o)), c10);
            c11 = TV.MultiplyAdd(v, TV.Load(ref Unsafe.Add(ref b1, o + count)), c11);
            c20 = TV.MultiplyAdd(v, TV.Load(ref Unsafe.Add(ref b2, o)), c20);
            c21 = TV.MultiplyAdd(v, TV.Load(ref Unsafe.Add(ref b2, o + count)), c21);
            c30 = TV.MultiplyAdd(v, TV.Load(ref Unsafe.Add(ref b3, o)), c30);
            c31 = TV.MultiplyAdd(v, TV.Load(ref Unsafe.Add(ref b3, o + count)), c31);
        }
        TF lo = TV.Splat(min), hi = TV.Splat(max);
        Store<TV, TF, TI>(c00, ref bias, ref c, lo, hi, 0);
        Store<TV, TF, TI>(c01, ref bias, ref c, lo, hi, count);
        Store<TV, TF, TI>(c10, ref bias, ref c, lo, hi, 2 * count);
        Store<TV, TF, TI>(c11, ref bias, ref c, lo, hi, 3 * count);
        Store<TV, TF, TI>(c20, ref bias, ref c, lo, hi, 4 * count);
        Store<TV, TF, TI>(c21, ref bias, ref c, lo, hi, 5 * count);
        Store<TV, TF, TI>(c30, ref bias, ref c, lo, hi, 6 * count);
        Store<TV, TF, TI>(c31, ref bias, ref c, lo, hi, 7 * count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TV, TF, TI>(TF acc, ref float bias, ref float c, TF lo, TF hi, nint offset)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct =>
        TV.Store(TV.ClampOrdered(TV.Add(acc, TV.Load(ref Unsafe.Add(ref bias, offset))), lo, hi), ref Unsafe.Add(ref c, offset));
}
