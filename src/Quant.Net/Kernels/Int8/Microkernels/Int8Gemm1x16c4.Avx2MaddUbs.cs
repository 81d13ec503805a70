using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quant.Net.Kernels;

/// <summary>
/// One row × 16 columns, K in groups of 4, AVX2 <c>vpmaddubsw</c> for pair-safe weights: the GEMV kernel of the
/// <see cref="Simd.Int8GemmPath.Avx2MaddUbs"/> path (see <see cref="Int8Gemm6x16c4Avx2MaddUbs"/> for exactness), four
/// groups per iteration into eight independent accumulators as <see cref="Int8Gemm1x16c4AvxVnni"/>.
/// </summary>
internal static class Int8Gemm1x16c4Avx2MaddUbs
{
    public static void Compute(ref byte a, ref byte b, int kGroups, ref int tile)
    {
        Vector256<int> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector256<short> ones = Vector256.Create((short)1);
        nint g = 0;
        for (; g + 4 <= kGroups; g += 4)
        {
            ref byte bg = ref Unsafe.Add(ref b, g * 64);
            Vector256<byte> v0 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a, g * 4))).AsByte();
            Vector256<byte> v1 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a, g * 4 + 4))).AsByte();
            Vector256<byte> v2 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a, g * 4 + 8))).AsByte();
            Vector256<byte> v3 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a, g * 4 + 12))).AsByte();
            c0 += Int8Gemm6x16c4Avx2MaddUbs.Dot(v0, Vector256.LoadUnsafe(ref bg).AsSByte(), ones);
            c1 += Int8Gemm6x16c4Avx2MaddUbs.Dot(v0, Vector256.LoadUnsafe(ref bg, 32).AsSByte(), ones);
            c2 += Int8Gemm6x16c4Avx2MaddUbs.Dot(v1, Vector256.LoadUnsafe(ref bg, 64).AsSByte(), ones);
            c3 += Int8Gemm6x16c4Avx2MaddUbs.Dot(v1, Vector256.LoadUnsafe(ref bg, 96).AsSByte(), ones);
            c4 += Int8Gemm6x16c4Avx2MaddUbs.Dot(v2, Vector256.LoadUnsafe(ref bg, 128).AsSByte(), ones);
            c5 += Int8Gemm6x16c4Avx2MaddUbs.Dot(v2, Vector256.LoadUnsafe(ref bg, 160).AsSByte(), ones);
            c6 += Int8Gemm6x16c4Avx2MaddUbs.Dot(v3, Vector256.LoadUnsafe(ref bg, 192).AsSByte(), ones);
            c7 += Int8Gemm6x16c4Avx2MaddUbs.Dot(v3, Vector256.LoadUnsafe(ref bg, 224).AsSByte(), ones);
        }
        for (; g < kGroups; g++)
        {
            ref byte bg = ref Unsafe.Add(ref b, g * 64);
            Vector256<byte> v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a, g * 4))).AsByte();
            c0 += Int8Gemm6x16c4Avx2MaddUbs.Dot(v, Vector256.LoadUnsafe(ref bg).AsSByte(), ones);
            c1 += Int8Gemm6x16c4Avx2MaddUbs.Dot(v, Vector256.LoadUnsafe(ref bg, 32).AsSByte(), ones);
        }
        ((c0 + c2) + (c4 + c6)).StoreUnsafe(ref tile);
        ((c1 + c3) + (c5 + c7)).StoreUnsafe(ref tile, 8);
    }
}
