using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using X86 = System.Runtime.Intrinsics.X86;

namespace Quant.Net.Kernels;

/// <summary>4×8 tile, K in pairs, SSE2 (128-bit): int16 operands and <c>pmaddwd</c>, exact like the AVX2 kernel.</summary>
internal static class Int8Gemm4x8c2Sse2
{
    public static void Compute<TRows>(ref byte a, nint aStride, ref byte b, TRows rows, int kGroups, ref int tile)
        where TRows : struct, IPanelRows
    {
        Vector128<int> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector128<int> c20 = default, c21 = default, c30 = default, c31 = default;
        ref byte a0 = ref a;
        ref byte a1 = ref Unsafe.Add(ref a, aStride);
        ref byte a2 = ref Unsafe.Add(ref a, 2 * aStride);
        ref byte a3 = ref Unsafe.Add(ref a, 3 * aStride);
        for (nint g = 0; g < kGroups; g++)
        {
            ref byte bg = ref Unsafe.Add(ref b, rows.Offset(g, 32));
            Vector128<short> b0 = Vector128.LoadUnsafe(ref bg).AsInt16();
            Vector128<short> b1 = Vector128.LoadUnsafe(ref bg, 16).AsInt16();
            nint ak = g * 4;
            Vector128<short> v = Vector128.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a0, ak))).AsInt16();
            c00 += X86.Sse2.MultiplyAddAdjacent(v, b0);
            c01 += X86.Sse2.MultiplyAddAdjacent(v, b1);
            v = Vector128.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a1, ak))).AsInt16();
            c10 += X86.Sse2.MultiplyAddAdjacent(v, b0);
            c11 += X86.Sse2.MultiplyAddAdjacent(v, b1);
            v = Vector128.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a2, ak))).AsInt16();
            c20 += X86.Sse2.MultiplyAddAdjacent(v, b0);
            c21 += X86.Sse2.MultiplyAddAdjacent(v, b1);
            v = Vector128.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a3, ak))).AsInt16();
            c30 += X86.Sse2.MultiplyAddAdjacent(v, b0);
            c31 += X86.Sse2.MultiplyAddAdjacent(v, b1);
        }
        c00.StoreUnsafe(ref tile, 0); c01.StoreUnsafe(ref tile, 4);
        c10.StoreUnsafe(ref tile, 8); c11.StoreUnsafe(ref tile, 12);
        c20.StoreUnsafe(ref tile, 16); c21.StoreUnsafe(ref tile, 20);
        c30.StoreUnsafe(ref tile, 24); c31.StoreUnsafe(ref tile, 28);
    }
}
