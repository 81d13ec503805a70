using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using X86 = System.Runtime.Intrinsics.X86;

namespace Quant.Net.Kernels;

/// <summary>
/// 6×16 tile, K in pairs, AVX2: A holds int16 (widened at packing), B int8 sign-extended on load (<c>vpmovsxbw</c>, half
/// the bytes of an int16 panel), and <c>vpmaddwd</c> multiplies 16 pairs and adds adjacent products into 8 int32 lanes —
/// exact for every int8/uint8 input, unlike <c>vpmaddubsw</c>, which saturates pair sums at int16.
/// </summary>
internal static class Int8Gemm6x16c2Avx2
{
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
            ref byte bg = ref Unsafe.Add(ref b, rows.Offset(g, 32));
            Vector256<short> b0 = X86.Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref bg).AsSByte());
            Vector256<short> b1 = X86.Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref bg, 16).AsSByte());
            nint ak = g * 4; // two int16 per group
            Vector256<short> v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a0, ak))).AsInt16();
            c00 += X86.Avx2.MultiplyAddAdjacent(v, b0);
            c01 += X86.Avx2.MultiplyAddAdjacent(v, b1);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a1, ak))).AsInt16();
            c10 += X86.Avx2.MultiplyAddAdjacent(v, b0);
            c11 += X86.Avx2.MultiplyAddAdjacent(v, b1);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a2, ak))).AsInt16();
            c20 += X86.Avx2.MultiplyAddAdjacent(v, b0);
            c21 += X86.Avx2.MultiplyAddAdjacent(v, b1);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a3, ak))).AsInt16();
            c30 += X86.Avx2.MultiplyAddAdjacent(v, b0);
            c31 += X86.Avx2.MultiplyAddAdjacent(v, b1);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a4, ak))).AsInt16();
            c40 += X86.Avx2.MultiplyAddAdjacent(v, b0);
            c41 += X86.Avx2.MultiplyAddAdjacent(v, b1);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a5, ak))).AsInt16();
            c50 += X86.Avx2.MultiplyAddAdjacent(v, b0);
            c51 += X86.Avx2.MultiplyAddAdjacent(v, b1);
        }
        TStore.Store(ref destination, stride, ref terms, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }
}
