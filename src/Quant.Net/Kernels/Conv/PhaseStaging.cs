using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quant.Net.Kernels;

/// <summary>
/// The copies that stage a convolution's input rows into phase planes: every other element of a row (a stride-2 column
/// phase) and uint8 codes converted to centred floats (x − zx). Vectorized with 128-bit shuffles (pshufb/vpermps on x86,
/// tbl/uzp1 on ARM) where the hardware has them, scalar otherwise; pure data movement, so every path gives the same values.
/// </summary>
internal static class PhaseStaging
{
    /// <summary>target[i] = source[2·i] for i &lt; target.Length (source holds at least 2·target.Length − 1 values).</summary>
    public static void CopyEveryOther(ReadOnlySpan<float> source, Span<float> target)
    {
        int count = target.Length, i = 0;
        if (count > 0 && source.Length < (2 * count) - 1) throw new ArgumentException("The source row is too short.", nameof(source));
        ref float from = ref MemoryMarshal.GetReference(source);
        ref float to = ref MemoryMarshal.GetReference(target);
        if (Vector256.IsHardwareAccelerated)
        {
            // 8 floats in, their 4 even ones out (vpermps), while the 8 read lie inside the source.
            var evens = Vector256.Create(0, 2, 4, 6, 0, 2, 4, 6);
            for (; (2 * i) + 8 <= source.Length && i + 4 <= count; i += 4)
            {
                Vector256.Shuffle(Vector256.LoadUnsafe(ref from, (nuint)(2 * i)), evens).GetLower().StoreUnsafe(ref to, (nuint)i);
            }
        }
        else if (System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported)
        {
            for (; (2 * i) + 8 <= source.Length && i + 4 <= count; i += 4)
            {
                var lo = Vector128.LoadUnsafe(ref from, (nuint)(2 * i));
                var hi = Vector128.LoadUnsafe(ref from, (nuint)((2 * i) + 4));
                System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.UnzipEven(lo, hi).StoreUnsafe(ref to, (nuint)i);
            }
        }

        for (; i < count; i++) Unsafe.Add(ref to, i) = Unsafe.Add(ref from, 2 * i);
    }

    /// <summary>
    /// target[i] = source[step·i] − zeroPoint as floats (exact) for i &lt; target.Length, step 1 or more (source holds at
    /// least step·(target.Length − 1) + 1 codes).
    /// </summary>
    public static void Centre(ReadOnlySpan<byte> source, int step, int zeroPoint, Span<float> target)
    {
        int count = target.Length, i = 0;
        if (count > 0 && source.Length < (step * (count - 1)) + 1) throw new ArgumentException("The source row is too short.", nameof(source));
        ref byte from = ref MemoryMarshal.GetReference(source);
        ref float to = ref MemoryMarshal.GetReference(target);
        if (Vector128.IsHardwareAccelerated)
        {
            var zero = Vector128.Create((float)zeroPoint);
            if (step == 1)
            {
                // 16 codes widened to int32 and converted.
                for (; i + 16 <= count; i += 16)
                {
                    var (w0, w1) = Vector128.Widen(Vector128.LoadUnsafe(ref from, (nuint)i));
                    Store(w0, zero, ref to, i);
                    Store(w1, zero, ref to, i + 8);
                }
            }
            else if (step == 2)
            {
                // 16 codes in, their 8 even ones picked with one byte shuffle (constant indices: pshufb / tbl).
                for (; (2 * i) + 16 <= source.Length && i + 8 <= count; i += 8)
                {
                    var codes = Vector128.Shuffle(Vector128.LoadUnsafe(ref from, (nuint)(2 * i)), Vector128.Create((byte)0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14));
                    Store(Vector128.WidenLower(codes), zero, ref to, i);
                }
            }
        }

        for (; i < count; i++) Unsafe.Add(ref to, i) = Unsafe.Add(ref from, step * i) - zeroPoint;
    }

    /// <summary>Eight uint16 codes → target[i .. i + 8) = code − zero point, as floats.</summary>
    private static void Store(Vector128<ushort> codes, Vector128<float> zero, ref float to, int i)
    {
        var (d0, d1) = Vector128.Widen(codes);
        (Vector128.ConvertToSingle(d0.AsInt32()) - zero).StoreUnsafe(ref to, (nuint)i);
        (Vector128.ConvertToSingle(d1.AsInt32()) - zero).StoreUnsafe(ref to, (nuint)(i + 4));
    }
}
