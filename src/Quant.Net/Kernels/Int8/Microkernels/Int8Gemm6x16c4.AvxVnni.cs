using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using X86 = System.Runtime.Intrinsics.X86;

namespace Quant.Net.Kernels;

/// <summary>
/// 6×16 tile, K in groups of 4, AVX-VNNI: per group two 256-bit loads of B (16 columns × 4 int8) and, per row, one
/// broadcast of 4 uint8 of A into <c>vpdpbusd</c> — 12 accumulators, 12 <c>vpdpbusd</c> per 6 loads/broadcasts.
/// </summary>
internal static class Int8Gemm6x16c4AvxVnni
{
    public static void Compute<TStore>(ref byte a, nint aStride, ref byte b, int kGroups, ref int destination, nint stride, ref int terms)
        where TStore : IInt8TileStore6x16
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
            ref byte bg = ref Unsafe.Add(ref b, g * 64);
            Vector256<sbyte> b0 = Vector256.LoadUnsafe(ref bg).AsSByte();
            Vector256<sbyte> b1 = Vector256.LoadUnsafe(ref bg, 32).AsSByte();
            nint ak = g * 4;
            Vector256<byte> v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a0, ak))).AsByte();
            c00 = X86.AvxVnni.MultiplyWideningAndAdd(c00, v, b0);
            c01 = X86.AvxVnni.MultiplyWideningAndAdd(c01, v, b1);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a1, ak))).AsByte();
            c10 = X86.AvxVnni.MultiplyWideningAndAdd(c10, v, b0);
            c11 = X86.AvxVnni.MultiplyWideningAndAdd(c11, v, b1);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a2, ak))).AsByte();
            c20 = X86.AvxVnni.MultiplyWideningAndAdd(c20, v, b0);
            c21 = X86.AvxVnni.MultiplyWideningAndAdd(c21, v, b1);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a3, ak))).AsByte();
            c30 = X86.AvxVnni.MultiplyWideningAndAdd(c30, v, b0);
            c31 = X86.AvxVnni.MultiplyWideningAndAdd(c31, v, b1);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a4, ak))).AsByte();
            c40 = X86.AvxVnni.MultiplyWideningAndAdd(c40, v, b0);
            c41 = X86.AvxVnni.MultiplyWideningAndAdd(c41, v, b1);
            v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a5, ak))).AsByte();
            c50 = X86.AvxVnni.MultiplyWideningAndAdd(c50, v, b0);
            c51 = X86.AvxVnni.MultiplyWideningAndAdd(c51, v, b1);
        }
        TStore.Store(ref destination, stride, ref terms, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }
}
