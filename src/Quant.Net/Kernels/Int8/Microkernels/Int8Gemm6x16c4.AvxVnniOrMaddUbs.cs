using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using X86 = System.Runtime.Intrinsics.X86;

namespace Quant.Net.Kernels;

/// <summary>
/// 6×16 tile, K in groups of 4, uint8 A × int8 B: per group two 256-bit loads of B (16 columns × 4 int8) and, per row, one
/// broadcast of 4 uint8 of A into the four-product dot <typeparamref name="TDot"/> — <c>vpdpbusd</c> on AVX-VNNI
/// (<see cref="VnniDot"/>), or <c>vpmaddubsw</c> + <c>vpmaddwd</c> with ones on AVX2 for pair-safe weights
/// (<see cref="Avx2SmallDot"/>, <see cref="Simd.Int8GemmPath.Avx2MaddUbs"/>; the block GEMM's dots). 12 accumulators per 6 loads/broadcasts.
/// </summary>
/// <typeparam name="TDot">The accumulate step, specialised per struct.</typeparam>
internal static class Int8Gemm6x16c4<TDot>
    where TDot : IDot256
{
    /// <summary>The tile over <paramref name="kGroups"/> groups; group g of the panel starts <paramref name="rows"/>.Offset(g, 64) bytes after <paramref name="b"/>.</summary>
    public static void Compute<TStore, TRows>(ref byte a, nint aStride, ref byte b, TRows rows, int kGroups, ref int destination, nint stride, ref int terms)
        where TStore : IInt8TileStore6x16
        where TRows : struct, IPanelRows
    {
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<int> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        ref byte a0 = ref a;
        ref byte a1 = ref Unsafe.Add(ref a, aStride);
        ref byte a2 = ref Unsafe.Add(ref a, 2 * aStride);
        ref byte a3 = ref Unsafe.Add(ref a, 3 * aStride);
        ref byte a4 = ref Unsafe.Add(ref a, 4 * aStride);
        ref byte a5 = ref Unsafe.Add(ref a, 5 * aStride);
        for (nint g = 0; g < kGroups; g++)
        {
            ref byte bg = ref Unsafe.Add(ref b, rows.Offset(g, 64));
            Vector256<sbyte> b0 = Vector256.LoadUnsafe(ref bg).AsSByte();
            Vector256<sbyte> b1 = Vector256.LoadUnsafe(ref bg, 32).AsSByte();
            nint ak = g * 4;
            Vector256<byte> v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a0, ak))).AsByte();
            c00 = TDot.Dot(c00, v, b0);
            c01 = TDot.Dot(c01, v, b1);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a1, ak))).AsByte();
            c10 = TDot.Dot(c10, v, b0);
            c11 = TDot.Dot(c11, v, b1);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a2, ak))).AsByte();
            c20 = TDot.Dot(c20, v, b0);
            c21 = TDot.Dot(c21, v, b1);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a3, ak))).AsByte();
            c30 = TDot.Dot(c30, v, b0);
            c31 = TDot.Dot(c31, v, b1);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a4, ak))).AsByte();
            c40 = TDot.Dot(c40, v, b0);
            c41 = TDot.Dot(c41, v, b1);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a5, ak))).AsByte();
            c50 = TDot.Dot(c50, v, b0);
            c51 = TDot.Dot(c51, v, b1);
        }
        TStore.Store(ref destination, stride, ref terms, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }
}
