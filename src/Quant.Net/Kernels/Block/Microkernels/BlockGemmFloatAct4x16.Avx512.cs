using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quant.Net.Kernels;

/// <summary>
/// Float mode on 512-bit vectors: two groups (16 output columns) per vector, each half loaded from its own group's
/// codes, zero points and scales. Same operations per lane, in the same order, as the scalar reference.
/// </summary>
internal static class BlockGemmFloatAct4x16Avx512
{
    /// <summary>Groups g and g + 1 for rows r0 .. r0 + rows.</summary>
    public static void FloatPair(BlockActivations x, int r0, int rows, BlockQuantizedWeights w, float[] result, int g)
    {
        int r = r0;
        for (; r + 4 <= r0 + rows; r += 4)
        {
            Rows(x, r, 4, w, result, g);
        }

        for (; r < r0 + rows; r++)
        {
            Rows(x, r, 1, w, result, g);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Pair(ref int first, nint secondOffset) =>
        Vector512.Create(Vector256.LoadUnsafe(ref first), Vector256.LoadUnsafe(ref Unsafe.Add(ref first, secondOffset)));

    /// <summary>
    /// code − zero point as float. 4-bit codes: one <c>vpermps</c> from a 16-entry table (it reads only the low 4 bits of
    /// each index, so no mask and no int→float conversion; symmetric blocks put the −8 into the table). 8-bit: mask,
    /// convert, subtract. Both give exactly the float the scalar reference computes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Code(Vector512<int> source, [System.Diagnostics.CodeAnalysis.ConstantExpected] byte shift, Vector512<int> mask, Vector512<float> zeroPoint,
        bool table, Vector512<float> values, bool subtract)
    {
        var shifted = shift == 0 ? source : Vector512.ShiftRightLogical(source, shift);
        var code = table ? System.Runtime.Intrinsics.X86.Avx512F.PermuteVar16x32(values, shifted) : Vector512.ConvertToSingle(shifted & mask);
        return subtract ? code - zeroPoint : code;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(Vector512<float> c, int t, bool four, ref float k0, ref float k1, ref float k2, ref float k3,
        ref Vector512<float> d0, ref Vector512<float> d1, ref Vector512<float> d2, ref Vector512<float> d3)
    {
        d0 = Vector512.FusedMultiplyAdd(c, Vector512.Create(Unsafe.Add(ref k0, t)), d0);
        if (four)
        {
            d1 = Vector512.FusedMultiplyAdd(c, Vector512.Create(Unsafe.Add(ref k1, t)), d1);
            d2 = Vector512.FusedMultiplyAdd(c, Vector512.Create(Unsafe.Add(ref k2, t)), d2);
            d3 = Vector512.FusedMultiplyAdd(c, Vector512.Create(Unsafe.Add(ref k3, t)), d3);
        }
    }

    private static void Rows(BlockActivations x, int r, int count, BlockQuantizedWeights w, float[] result, int g)
    {
        int octetsPerBlock = w.BlockSize / 8, blocks = w.BlockCount, stride = w.Groups * BlockQuantizedWeights.GroupColumns;
        int kp = x.PaddedK, octetBytes = w.OctetBytes;
        bool int4 = w.Bits == 4, four = count == 4;
        var mask = Vector512.Create(int4 ? 0x0F : 0xFF);
        bool symmetricTable = int4 && w.IsSymmetric, subtract = !symmetricTable;
        var values = Vector512.Create(0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f, 11f, 12f, 13f, 14f, 15f) - Vector512.Create(symmetricTable ? 8f : 0f);
        nint groupInts = (nint)w.Octets * octetBytes / 4, parameterStride = (nint)blocks * BlockQuantizedWeights.GroupColumns;
        ref float x0 = ref x.Padded[r * kp];
        ref float x1 = ref Unsafe.Add(ref x0, four ? kp : 0);
        ref float x2 = ref Unsafe.Add(ref x1, four ? kp : 0);
        ref float x3 = ref Unsafe.Add(ref x2, four ? kp : 0);
        ref int codes = ref Unsafe.As<byte, int>(ref w.Codes[(long)g * w.Octets * octetBytes]);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int b = 0; b < blocks; b++)
        {
            int p = ((g * blocks) + b) * BlockQuantizedWeights.GroupColumns;
            var zeroPoint = w.IsSymmetric ? Vector512.Create((float)(1 << (w.Bits - 1))) : Vector512.ConvertToSingle(Pair(ref w.ZeroPoints[p], parameterStride));
            Vector512<float> d0 = default, d1 = default, d2 = default, d3 = default;
            for (int o = b * octetsPerBlock, end = o + octetsPerBlock; o < end; o++)
            {
                ref int octet = ref Unsafe.Add(ref codes, (nint)o * octetBytes / 4);
                var low = Pair(ref octet, groupInts);
                var high = int4 ? Vector512.ShiftRightLogical(low, 4) : Pair(ref Unsafe.Add(ref octet, 8), groupInts);
                ref float k0 = ref Unsafe.Add(ref x0, o * 8);
                ref float k1 = ref Unsafe.Add(ref x1, o * 8);
                ref float k2 = ref Unsafe.Add(ref x2, o * 8);
                ref float k3 = ref Unsafe.Add(ref x3, o * 8);
                Step(Code(low, 0, mask, zeroPoint, int4, values, subtract), 0, four, ref k0, ref k1, ref k2, ref k3, ref d0, ref d1, ref d2, ref d3);
                Step(Code(low, 8, mask, zeroPoint, int4, values, subtract), 1, four, ref k0, ref k1, ref k2, ref k3, ref d0, ref d1, ref d2, ref d3);
                Step(Code(low, 16, mask, zeroPoint, int4, values, subtract), 2, four, ref k0, ref k1, ref k2, ref k3, ref d0, ref d1, ref d2, ref d3);
                Step(Code(low, 24, mask, zeroPoint, int4, values, subtract), 3, four, ref k0, ref k1, ref k2, ref k3, ref d0, ref d1, ref d2, ref d3);
                Step(Code(high, 0, mask, zeroPoint, int4, values, subtract), 4, four, ref k0, ref k1, ref k2, ref k3, ref d0, ref d1, ref d2, ref d3);
                Step(Code(high, 8, mask, zeroPoint, int4, values, subtract), 5, four, ref k0, ref k1, ref k2, ref k3, ref d0, ref d1, ref d2, ref d3);
                Step(Code(high, 16, mask, zeroPoint, int4, values, subtract), 6, four, ref k0, ref k1, ref k2, ref k3, ref d0, ref d1, ref d2, ref d3);
                Step(Code(high, 24, mask, zeroPoint, int4, values, subtract), 7, four, ref k0, ref k1, ref k2, ref k3, ref d0, ref d1, ref d2, ref d3);
            }

            var scale = Vector512.Create(Vector256.LoadUnsafe(ref w.Scales[p]), Vector256.LoadUnsafe(ref w.Scales[p + (int)parameterStride]));
            a0 = Vector512.FusedMultiplyAdd(d0, scale, a0);
            if (four)
            {
                a1 = Vector512.FusedMultiplyAdd(d1, scale, a1);
                a2 = Vector512.FusedMultiplyAdd(d2, scale, a2);
                a3 = Vector512.FusedMultiplyAdd(d3, scale, a3);
            }
        }

        int column = g * BlockQuantizedWeights.GroupColumns;
        a0.StoreUnsafe(ref result[(r * stride) + column]);
        if (four)
        {
            a1.StoreUnsafe(ref result[((r + 1) * stride) + column]);
            a2.StoreUnsafe(ref result[((r + 2) * stride) + column]);
            a3.StoreUnsafe(ref result[((r + 3) * stride) + column]);
        }
    }
}
