using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Arm = System.Runtime.Intrinsics.Arm;

namespace Quant.Net.Kernels;

/// <summary>
/// 4×16 tile, one K step at a time, ARM AdvSimd without Dp: int16 operands and <c>smlal</c> (widening multiply-add
/// into int32), 16 accumulators. Also the layout of the scalar fallback <see cref="Int8Gemm4x16c1Scalar"/>.
/// </summary>
internal static class Int8Gemm4x16c1AdvSimd
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
            ref byte bg = ref Unsafe.Add(ref b, rows.Offset(g, 32));
            Vector64<short> b0 = Vector64.LoadUnsafe(ref bg).AsInt16();
            Vector64<short> b1 = Vector64.LoadUnsafe(ref bg, 8).AsInt16();
            Vector64<short> b2 = Vector64.LoadUnsafe(ref bg, 16).AsInt16();
            Vector64<short> b3 = Vector64.LoadUnsafe(ref bg, 24).AsInt16();
            nint ak = g * 2;
            Vector64<short> v = Vector64.Create(Unsafe.ReadUnaligned<short>(ref Unsafe.Add(ref a0, ak)));
            c00 = Arm.AdvSimd.MultiplyWideningLowerAndAdd(c00, v, b0); c01 = Arm.AdvSimd.MultiplyWideningLowerAndAdd(c01, v, b1);
            c02 = Arm.AdvSimd.MultiplyWideningLowerAndAdd(c02, v, b2); c03 = Arm.AdvSimd.MultiplyWideningLowerAndAdd(c03, v, b3);
            v = Vector64.Create(Unsafe.ReadUnaligned<short>(ref Unsafe.Add(ref a1, ak)));
            c10 = Arm.AdvSimd.MultiplyWideningLowerAndAdd(c10, v, b0); c11 = Arm.AdvSimd.MultiplyWideningLowerAndAdd(c11, v, b1);
            c12 = Arm.AdvSimd.MultiplyWideningLowerAndAdd(c12, v, b2); c13 = Arm.AdvSimd.MultiplyWideningLowerAndAdd(c13, v, b3);
            v = Vector64.Create(Unsafe.ReadUnaligned<short>(ref Unsafe.Add(ref a2, ak)));
            c20 = Arm.AdvSimd.MultiplyWideningLowerAndAdd(c20, v, b0); c21 = Arm.AdvSimd.MultiplyWideningLowerAndAdd(c21, v, b1);
            c22 = Arm.AdvSimd.MultiplyWideningLowerAndAdd(c22, v, b2); c23 = Arm.AdvSimd.MultiplyWideningLowerAndAdd(c23, v, b3);
            v = Vector64.Create(Unsafe.ReadUnaligned<short>(ref Unsafe.Add(ref a3, ak)));
            c30 = Arm.AdvSimd.MultiplyWideningLowerAndAdd(c30, v, b0); c31 = Arm.AdvSimd.MultiplyWideningLowerAndAdd(c31, v, b1);
            c32 = Arm.AdvSimd.MultiplyWideningLowerAndAdd(c32, v, b2); c33 = Arm.AdvSimd.MultiplyWideningLowerAndAdd(c33, v, b3);
        }
        c00.StoreUnsafe(ref tile, 0); c01.StoreUnsafe(ref tile, 4); c02.StoreUnsafe(ref tile, 8); c03.StoreUnsafe(ref tile, 12);
        c10.StoreUnsafe(ref tile, 16); c11.StoreUnsafe(ref tile, 20); c12.StoreUnsafe(ref tile, 24); c13.StoreUnsafe(ref tile, 28);
        c20.StoreUnsafe(ref tile, 32); c21.StoreUnsafe(ref tile, 36); c22.StoreUnsafe(ref tile, 40); c23.StoreUnsafe(ref tile, 44);
        c30.StoreUnsafe(ref tile, 48); c31.StoreUnsafe(ref tile, 52); c32.StoreUnsafe(ref tile, 56); c33.StoreUnsafe(ref tile, 60);
    }
}

/// <summary>4×16 tile, one K step at a time, plain C#: the fallback when no SIMD is available (same packed layout as AdvSimd).</summary>
internal static class Int8Gemm4x16c1Scalar
{
    public static void Compute<TRows>(ref byte a, nint aStride, ref byte b, TRows rows, int kGroups, ref int tile)
        where TRows : struct, IPanelRows
    {
        Span<int> acc = stackalloc int[64];
        acc.Clear();
        for (nint g = 0; g < kGroups; g++)
        {
            for (int r = 0; r < 4; r++)
            {
                int av = Unsafe.ReadUnaligned<short>(ref Unsafe.Add(ref a, r * aStride + g * 2));
                for (int j = 0; j < 16; j++) acc[r * 16 + j] += av * Unsafe.ReadUnaligned<short>(ref Unsafe.Add(ref b, rows.Offset(g, 32) + (j * 2)));
            }
        }
        acc.CopyTo(System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref tile, 64));
    }
}
