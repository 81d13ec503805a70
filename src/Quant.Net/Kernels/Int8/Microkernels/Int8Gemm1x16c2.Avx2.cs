using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using X86 = System.Runtime.Intrinsics.X86;

namespace Quant.Net.Kernels;

/// <summary>
/// One row × 16 columns, K in pairs, AVX2: the GEMV (decode-time) kernel of the <see cref="Simd.Int8GemmPath.Avx2"/> layout.
/// B stays int8 in memory and is sign-extended on load; four pairs per iteration into eight independent accumulators hide
/// <c>vpmaddwd</c>'s latency, so the bound is the rate at which B streams in (one byte per multiply-add).
/// </summary>
internal static class Int8Gemm1x16c2Avx2
{
    public static void Compute(ref byte a, ref byte b, int kGroups, ref int tile)
    {
        Vector256<int> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        nint g = 0;
        for (; g + 4 <= kGroups; g += 4)
        {
            ref byte bg = ref Unsafe.Add(ref b, g * 32);
            ref byte ag = ref Unsafe.Add(ref a, g * 4); // two int16 per group
            Vector256<short> v0 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref ag)).AsInt16();
            Vector256<short> v1 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref ag, 4))).AsInt16();
            Vector256<short> v2 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref ag, 8))).AsInt16();
            Vector256<short> v3 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref ag, 12))).AsInt16();
            c0 += X86.Avx2.MultiplyAddAdjacent(v0, Widen(ref bg, 0));
            c1 += X86.Avx2.MultiplyAddAdjacent(v0, Widen(ref bg, 16));
            c2 += X86.Avx2.MultiplyAddAdjacent(v1, Widen(ref bg, 32));
            c3 += X86.Avx2.MultiplyAddAdjacent(v1, Widen(ref bg, 48));
            c4 += X86.Avx2.MultiplyAddAdjacent(v2, Widen(ref bg, 64));
            c5 += X86.Avx2.MultiplyAddAdjacent(v2, Widen(ref bg, 80));
            c6 += X86.Avx2.MultiplyAddAdjacent(v3, Widen(ref bg, 96));
            c7 += X86.Avx2.MultiplyAddAdjacent(v3, Widen(ref bg, 112));
        }
        for (; g < kGroups; g++)
        {
            ref byte bg = ref Unsafe.Add(ref b, g * 32);
            Vector256<short> v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a, g * 4))).AsInt16();
            c0 += X86.Avx2.MultiplyAddAdjacent(v, Widen(ref bg, 0));
            c1 += X86.Avx2.MultiplyAddAdjacent(v, Widen(ref bg, 16));
        }
        // Integer addition is associative (wrapping), so regrouping the chains changes no bit.
        ((c0 + c2) + (c4 + c6)).StoreUnsafe(ref tile);
        ((c1 + c3) + (c5 + c7)).StoreUnsafe(ref tile, 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Widen(ref byte b, nuint offset) => X86.Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref b, offset).AsSByte());
}
