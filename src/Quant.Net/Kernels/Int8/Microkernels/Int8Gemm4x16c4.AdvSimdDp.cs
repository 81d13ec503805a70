using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Arm = System.Runtime.Intrinsics.Arm;

namespace Quant.Net.Kernels;

/// <summary>
/// 4×16 tile, K in groups of 4, ARM AdvSimd with the dot-product extension: per group four 128-bit loads of B
/// (4 columns × 4 int8 each) and, per row, a broadcast of 4 int8 of A into <c>sdot</c> — 16 accumulators.
/// </summary>
internal static class Int8Gemm4x16c4AdvSimdDp
{
    public static void Compute<TRows>(ref byte a, nint aStride, ref byte b, TRows rows, int kGroups, ref int tile)
        where TRows : struct, IPanelRows
    {
        Vector128<int> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector128<int> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector128<int> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector128<int> c30 = default, c31 = default, c32 = default, c33 = default;
        ref byte a0 = ref a;
        ref byte a1 = ref Unsafe.Add(ref a, aStride);
        ref byte a2 = ref Unsafe.Add(ref a, 2 * aStride);
        ref byte a3 = ref Unsafe.Add(ref a, 3 * aStride);
        for (nint g = 0; g < kGroups; g++)
        {
            ref byte bg = ref Unsafe.Add(ref b, rows.Offset(g, 64));
            Vector128<sbyte> b0 = Vector128.LoadUnsafe(ref bg).AsSByte();
            Vector128<sbyte> b1 = Vector128.LoadUnsafe(ref bg, 16).AsSByte();
            Vector128<sbyte> b2 = Vector128.LoadUnsafe(ref bg, 32).AsSByte();
            Vector128<sbyte> b3 = Vector128.LoadUnsafe(ref bg, 48).AsSByte();
            nint ak = g * 4;
            Vector128<sbyte> v = Vector128.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a0, ak))).AsSByte();
            c00 = Arm.Dp.DotProduct(c00, v, b0); c01 = Arm.Dp.DotProduct(c01, v, b1);
            c02 = Arm.Dp.DotProduct(c02, v, b2); c03 = Arm.Dp.DotProduct(c03, v, b3);
            v = Vector128.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a1, ak))).AsSByte();
            c10 = Arm.Dp.DotProduct(c10, v, b0); c11 = Arm.Dp.DotProduct(c11, v, b1);
            c12 = Arm.Dp.DotProduct(c12, v, b2); c13 = Arm.Dp.DotProduct(c13, v, b3);
            v = Vector128.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a2, ak))).AsSByte();
            c20 = Arm.Dp.DotProduct(c20, v, b0); c21 = Arm.Dp.DotProduct(c21, v, b1);
            c22 = Arm.Dp.DotProduct(c22, v, b2); c23 = Arm.Dp.DotProduct(c23, v, b3);
            v = Vector128.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a3, ak))).AsSByte();
            c30 = Arm.Dp.DotProduct(c30, v, b0); c31 = Arm.Dp.DotProduct(c31, v, b1);
            c32 = Arm.Dp.DotProduct(c32, v, b2); c33 = Arm.Dp.DotProduct(c33, v, b3);
        }
        c00.StoreUnsafe(ref tile, 0); c01.StoreUnsafe(ref tile, 4); c02.StoreUnsafe(ref tile, 8); c03.StoreUnsafe(ref tile, 12);
        c10.StoreUnsafe(ref tile, 16); c11.StoreUnsafe(ref tile, 20); c12.StoreUnsafe(ref tile, 24); c13.StoreUnsafe(ref tile, 28);
        c20.StoreUnsafe(ref tile, 32); c21.StoreUnsafe(ref tile, 36); c22.StoreUnsafe(ref tile, 40); c23.StoreUnsafe(ref tile, 44);
        c30.StoreUnsafe(ref tile, 48); c31.StoreUnsafe(ref tile, 52); c32.StoreUnsafe(ref tile, 56); c33.StoreUnsafe(ref tile, 60);
    }
}
