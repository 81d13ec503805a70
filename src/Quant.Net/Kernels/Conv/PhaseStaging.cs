using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quant.Net.Kernels;

/// <summary>
/// The copies that stage a convolution's input rows into phase planes: every other element of a row (a stride-2 column
/// phase), uint8 codes converted to centred floats (x − zx), and KR channels interleaved into the int8 kernels' cells. Vectorized with 128-bit shuffles (pshufb/vpermps on x86,
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
                    var codes = EvenBytes(Vector128.LoadUnsafe(ref from, (nuint)(2 * i)));
                    Store(Vector128.WidenLower(codes), zero, ref to, i);
                }
            }
        }

        for (; i < count; i++) Unsafe.Add(ref to, i) = Unsafe.Add(ref from, step * i) - zeroPoint;
    }

    /// <summary>
    /// Interleaves <paramref name="kr"/> channels into cells of kr bytes, xor <paramref name="flip"/>:
    /// target[kr·i + j] = source[j·<paramref name="planeStride"/> + step·i] ^ flip for the first <paramref name="real"/>
    /// channels j, and 0 ^ flip for the rest, for i &lt; target.Length / kr. The int8 kernels' KR-channel cells (kr 2 or 4
    /// vectorized, 16 cells per step with byte and word zips: punpckl/h on x86, zip1/zip2 on ARM; stride 1 or 2).
    /// </summary>
    public static void Interleave(ReadOnlySpan<byte> source, int planeStride, int real, int kr, int step, byte flip, Span<byte> target)
    {
        int count = target.Length / kr, i = 0;
        if (real < 1 || real > kr) throw new ArgumentOutOfRangeException(nameof(real), real, "Between 1 and kr channels are real.");
        if (count > 0 && source.Length < ((real - 1) * (long)planeStride) + ((long)step * (count - 1)) + 1) throw new ArgumentException("The source rows are too short.", nameof(source));
        ref byte from = ref MemoryMarshal.GetReference(source);
        ref byte to = ref MemoryMarshal.GetReference(target);
        if ((kr == 4 || kr == 2) && (step == 1 || step == 2) && (System.Runtime.Intrinsics.X86.Sse2.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported))
        {
            // Blocks of 16 cells while the last real channel's 16·step bytes lie inside the source; the last cells as one
            // more block ending at the row's end (rewriting some cells with the same values), else as 8-cell blocks.
            long last = (real - 1) * (long)planeStride;
            for (; i + 16 <= count && last + (step * (long)i) + (16 * step) <= source.Length; i += 16)
            {
                InterleaveBlock(ref from, planeStride, real, kr, step, flip, ref to, i, 16);
            }

            if (i < count && count >= 16 && last + (step * (long)count) <= source.Length)
            {
                InterleaveBlock(ref from, planeStride, real, kr, step, flip, ref to, count - 16, 16);
                return;
            }

            for (; i + 8 <= count && last + (step * (long)i) + (8 * step) <= source.Length; i += 8)
            {
                InterleaveBlock(ref from, planeStride, real, kr, step, flip, ref to, i, 8);
            }

            if (i < count && count >= 8 && last + (step * (long)count) <= source.Length)
            {
                InterleaveBlock(ref from, planeStride, real, kr, step, flip, ref to, count - 8, 8);
                return;
            }
        }

        if (kr == 4)
        {
            nint p1 = real > 1 ? planeStride : 0, p2 = real > 2 ? 2 * planeStride : 0, p3 = real > 3 ? 3 * planeStride : 0;
            uint mask = real switch { 1 => 0xFFu, 2 => 0xFFFFu, 3 => 0xFFFFFFu, _ => 0xFFFFFFFFu }, flips = flip * 0x01010101u;
            for (; i < count; i++)
            {
                nint at = step * (nint)i;
                uint word = Unsafe.Add(ref from, at) | ((uint)Unsafe.Add(ref from, at + p1) << 8) | ((uint)Unsafe.Add(ref from, at + p2) << 16) | ((uint)Unsafe.Add(ref from, at + p3) << 24);
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref to, 4 * i), (word & mask) ^ flips);
            }

            return;
        }

        for (; i < count; i++)
        {
            for (int j = 0; j < kr; j++)
            {
                Unsafe.Add(ref to, (kr * i) + j) = (byte)((j < real ? Unsafe.Add(ref from, (j * (nint)planeStride) + (step * (nint)i)) : 0) ^ flip);
            }
        }
    }

    /// <summary>Cells [i, i + width) of <see cref="Interleave"/>, width 16 or 8 (the lower halves of the zips).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InterleaveBlock(ref byte from, nint planeStride, int real, int kr, int step, byte flip, ref byte to, int i, int width)
    {
        nint at = step * (nint)i;
        var flips = Vector128.Create(flip);
        var c0 = Load(ref from, at, step, width);
        var c1 = real > 1 ? Load(ref Unsafe.Add(ref from, planeStride), at, step, width) : default;
        var (l01, h01) = Zip(c0, c1);
        if (kr == 2)
        {
            (l01 ^ flips).StoreUnsafe(ref to, (nuint)(2 * i));
            if (width == 16) (h01 ^ flips).StoreUnsafe(ref to, (nuint)((2 * i) + 16));
            return;
        }

        var c2 = real > 2 ? Load(ref Unsafe.Add(ref from, 2 * planeStride), at, step, width) : default;
        var c3 = real > 3 ? Load(ref Unsafe.Add(ref from, 3 * planeStride), at, step, width) : default;
        var (l23, h23) = Zip(c2, c3);
        var (a, b) = Zip(l01.AsUInt16(), l23.AsUInt16());
        (a.AsByte() ^ flips).StoreUnsafe(ref to, (nuint)(4 * i));
        (b.AsByte() ^ flips).StoreUnsafe(ref to, (nuint)((4 * i) + 16));
        if (width == 16)
        {
            var (c, d) = Zip(h01.AsUInt16(), h23.AsUInt16());
            (c.AsByte() ^ flips).StoreUnsafe(ref to, (nuint)((4 * i) + 32));
            (d.AsByte() ^ flips).StoreUnsafe(ref to, (nuint)((4 * i) + 48));
        }
    }

    /// <summary>
    /// <paramref name="width"/> (16 or 8, in the lower half) bytes from <paramref name="at"/>: consecutive (step 1), or every
    /// other of 2·width (step 2: byte shuffles).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Load(ref byte from, nint at, int step, int width)
    {
        if (width == 8)
        {
            if (step == 1) return Vector128.CreateScalar(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref from, at))).AsByte();
            return EvenBytes(Vector128.LoadUnsafe(ref from, (nuint)at));
        }

        return Load(ref from, at, step);
    }

    /// <summary>16 bytes from <paramref name="at"/>: consecutive (step 1), or every other of 32 (step 2: two byte shuffles).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Load(ref byte from, nint at, int step)
    {
        if (step == 1) return Vector128.LoadUnsafe(ref from, (nuint)at);
        return Vector128.Create(EvenBytes(Vector128.LoadUnsafe(ref from, (nuint)at)).GetLower(), EvenBytes(Vector128.LoadUnsafe(ref from, (nuint)(at + 16))).GetLower());
    }

    /// <summary>The 8 even bytes of 16, in both halves (one byte shuffle with constant indices: pshufb / tbl).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> EvenBytes(Vector128<byte> v) => Vector128.Shuffle(v, Vector128.Create((byte)0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<byte> Low, Vector128<byte> High) Zip(Vector128<byte> a, Vector128<byte> b) =>
        System.Runtime.Intrinsics.X86.Sse2.IsSupported
            ? (System.Runtime.Intrinsics.X86.Sse2.UnpackLow(a, b), System.Runtime.Intrinsics.X86.Sse2.UnpackHigh(a, b))
            : (System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.ZipLow(a, b), System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.ZipHigh(a, b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<ushort> Low, Vector128<ushort> High) Zip(Vector128<ushort> a, Vector128<ushort> b) =>
        System.Runtime.Intrinsics.X86.Sse2.IsSupported
            ? (System.Runtime.Intrinsics.X86.Sse2.UnpackLow(a, b), System.Runtime.Intrinsics.X86.Sse2.UnpackHigh(a, b))
            : (System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.ZipLow(a, b), System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.ZipHigh(a, b));

    /// <summary>Eight uint16 codes → target[i .. i + 8) = code − zero point, as floats.</summary>
    private static void Store(Vector128<ushort> codes, Vector128<float> zero, ref float to, int i)
    {
        var (d0, d1) = Vector128.Widen(codes);
        (Vector128.ConvertToSingle(d0.AsInt32()) - zero).StoreUnsafe(ref to, (nuint)i);
        (Vector128.ConvertToSingle(d1.AsInt32()) - zero).StoreUnsafe(ref to, (nuint)(i + 4));
    }
}
