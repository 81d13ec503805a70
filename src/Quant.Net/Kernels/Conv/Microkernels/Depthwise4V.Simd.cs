using Quant.Net.Simd;
using System.Runtime.CompilerServices;

namespace Quant.Net.Kernels;

/// <summary>
/// Depthwise (one input channel per group) convolution over shifted phase planes, written once over
/// <see cref="ISimd{TF, TI}"/> (AVX-512, AVX2, SSE/AdvSimd) with a scalar twin. One output channel at a time: virtual
/// position q (of OH·Wq, row by row) is Σ_t w[t] · planes[offset[t] + q], one FMA per tap in tap order (the GEMM's
/// order, so every width gives the same bits), four vectors of positions per step so that four accumulator chains run
/// side by side (a row of 56 is under four AVX-512 vectors: one chain per row would wait on FMA latency). Then each
/// output row's OW values are stored as clamp(sum · scale + bias) with compare-and-select (the other convolution
/// paths' output stage), its end as one vector overlapping the previous one. The int8 path runs it too, on centred
/// integers held in floats, where every partial sum is exact.
/// </summary>
internal static class Depthwise4V
{
    /// <summary>Positions per step: four vectors.</summary>
    public static int Step(SimdLevel level) => 4 * level switch
    {
        SimdLevel.Vector512 => Simd512.Count,
        SimdLevel.Vector256 => Simd256.Count,
        SimdLevel.Vector128 => Simd128.Count,
        _ => 1,
    };

    /// <summary>
    /// One output channel: sums over the first <paramref name="length"/> virtual positions (a multiple of four vectors)
    /// into <paramref name="sums"/>, then output row y = clamp(sums[y·wq .. + ow] · scale + bias, min, max).
    /// </summary>
    public static void Channel<TV, TF, TI>(ref float planes, ReadOnlySpan<nint> offsets, ReadOnlySpan<float> weights, int length, ref float sums,
        int wq, int oh, int ow, float scale, float bias, float min, float max, ref float output)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct
    {
        int width = TV.Count, taps = offsets.Length;
        for (nint q = 0; q < length; q += 4 * width)
        {
            TF c0 = default, c1 = default, c2 = default, c3 = default;
            for (int t = 0; t < taps; t++)
            {
                ref float p = ref Unsafe.Add(ref planes, offsets[t] + q);
                TF w = TV.Splat(weights[t]);
                c0 = TV.MultiplyAdd(w, TV.Load(ref p), c0);
                c1 = TV.MultiplyAdd(w, TV.Load(ref Unsafe.Add(ref p, width)), c1);
                c2 = TV.MultiplyAdd(w, TV.Load(ref Unsafe.Add(ref p, 2 * width)), c2);
                c3 = TV.MultiplyAdd(w, TV.Load(ref Unsafe.Add(ref p, 3 * width)), c3);
            }

            ref float s = ref Unsafe.Add(ref sums, q);
            TV.Store(c0, ref s);
            TV.Store(c1, ref Unsafe.Add(ref s, width));
            TV.Store(c2, ref Unsafe.Add(ref s, 2 * width));
            TV.Store(c3, ref Unsafe.Add(ref s, 3 * width));
        }

        if (ow < width)
        {
            StoreRowsScalar(ref sums, wq, oh, ow, scale, bias, min, max, ref output);
            return;
        }

        TF vs = TV.Splat(scale), vb = TV.Splat(bias), lo = TV.Splat(min), hi = TV.Splat(max);
        for (int y = 0; y < oh; y++)
        {
            ref float row = ref Unsafe.Add(ref sums, y * wq);
            ref float o = ref Unsafe.Add(ref output, y * ow);
            for (nint x = 0; x < ow; x += width)
            {
                if (x + width > ow) x = ow - width;   // the row's last vector overlaps the previous one
                TV.Store(TV.ClampOrdered(TV.Add(TV.Multiply(TV.Load(ref Unsafe.Add(ref row, x)), vs), vb), lo, hi), ref Unsafe.Add(ref o, x));
            }
        }
    }

    /// <summary>The scalar path of <see cref="Channel{TV, TF, TI}"/>: the same operations in the same order per position.</summary>
    public static void ChannelScalar(ref float planes, ReadOnlySpan<nint> offsets, ReadOnlySpan<float> weights, int length, ref float sums,
        int wq, int oh, int ow, float scale, float bias, float min, float max, ref float output)
    {
        for (nint q = 0; q < length; q++)
        {
            float acc = 0f;
            for (int t = 0; t < offsets.Length; t++) acc = MathF.FusedMultiplyAdd(weights[t], Unsafe.Add(ref planes, offsets[t] + q), acc);
            Unsafe.Add(ref sums, q) = acc;
        }

        StoreRowsScalar(ref sums, wq, oh, ow, scale, bias, min, max, ref output);
    }

    private static void StoreRowsScalar(ref float sums, int wq, int oh, int ow, float scale, float bias, float min, float max, ref float output)
    {
        for (int y = 0; y < oh; y++)
        {
            for (int x = 0; x < ow; x++)
            {
                float v = (Unsafe.Add(ref sums, (y * wq) + x) * scale) + bias;
                v = min > v ? min : v;
                Unsafe.Add(ref output, (y * ow) + x) = max < v ? max : v;
            }
        }
    }
}
