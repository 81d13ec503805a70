using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using X86 = System.Runtime.Intrinsics.X86;

namespace Quant.Net.Kernels;

/// <summary>
/// 6×16 tile, K in groups of 4, AVX2 <c>vpmaddubsw</c> for pair-safe weights (<see cref="Simd.Int8GemmPath.Avx2MaddUbs"/>;
/// the <see cref="Simd.Int8GemmPath.AvxVnni"/> layout): per row and half-panel, uint8 A × int8 B into 16 exact int16 pair
/// sums (|sum| ≤ 255 · 128 = 32,640), then
/// <c>vpmaddwd</c> with ones into 8 int32 sums of four products, added to the accumulator — the same integers as
/// <c>vpdpbusd</c>, which this emulates on hosts without VNNI.
/// </summary>
internal static class Int8Gemm6x16c4Avx2MaddUbs
{
    public static void Compute<TStore>(ref byte a, nint aStride, ref byte b, int kGroups, ref int destination, nint stride, ref int terms)
        where TStore : IInt8TileStore6x16
    {
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<int> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector256<short> ones = Vector256.Create((short)1);
        ref byte a0 = ref a;
        ref byte a1 = ref Unsafe.Add(ref a, aStride);
        ref byte a2 = ref Unsafe.Add(ref a, 2 * aStride);
        ref byte a3 = ref Unsafe.Add(ref a, 3 * aStride);
        ref byte a4 = ref Unsafe.Add(ref a, 4 * aStride);
        ref byte a5 = ref Unsafe.Add(ref a, 5 * aStride);
        for (nint g = 0; g < kGroups; g++)
        {
            ref byte bg = ref Unsafe.Add(ref b, g * 64);
            Vector256<sbyte> b0 = Vector256.LoadUnsafe(ref bg).AsSByte();
            Vector256<sbyte> b1 = Vector256.LoadUnsafe(ref bg, 32).AsSByte();
            nint ak = g * 4;
            Vector256<byte> v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a0, ak))).AsByte();
            c00 += Dot(v, b0, ones);
            c01 += Dot(v, b1, ones);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a1, ak))).AsByte();
            c10 += Dot(v, b0, ones);
            c11 += Dot(v, b1, ones);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a2, ak))).AsByte();
            c20 += Dot(v, b0, ones);
            c21 += Dot(v, b1, ones);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a3, ak))).AsByte();
            c30 += Dot(v, b0, ones);
            c31 += Dot(v, b1, ones);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a4, ak))).AsByte();
            c40 += Dot(v, b0, ones);
            c41 += Dot(v, b1, ones);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a5, ak))).AsByte();
            c50 += Dot(v, b0, ones);
            c51 += Dot(v, b1, ones);
        }
        TStore.Store(ref destination, stride, ref terms, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }

    /// <summary>Four uint8 × int8 products per int32 lane, exact for pair-safe b (see the path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> Dot(Vector256<byte> a, Vector256<sbyte> b, Vector256<short> ones) =>
        X86.Avx2.MultiplyAddAdjacent(X86.Avx2.MultiplyAddAdjacent(a, b), ones);
}
