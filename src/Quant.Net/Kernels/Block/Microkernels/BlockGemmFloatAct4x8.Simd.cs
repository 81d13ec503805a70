using Quant.Net.Simd;
using System.Runtime.CompilerServices;

namespace Quant.Net.Kernels;

/// <summary>
/// Float mode over <see cref="ISimd{TF, TI}"/> (8 or 4 lanes): codes are taken out of each lane's bytes with constant
/// shifts and masks, converted to float once for up to four rows, and multiplied in K order exactly as the scalar
/// reference does.
/// </summary>
internal static class BlockGemmFloatAct4x8Simd
{
    public static void Float<TSimd, TF, TI>(BlockActivations x, int r0, int rows, BlockQuantizedWeights w, float[] result, int g)
        where TSimd : ISimd<TF, TI>
        where TF : struct
        where TI : struct
    {
        int chunks = BlockQuantizedWeights.GroupColumns / TSimd.Count;
        for (int chunk = 0; chunk < chunks; chunk++)
        {
            int r = r0;
            for (; r + 4 <= r0 + rows; r += 4)
            {
                Rows<TSimd, TF, TI, Four>(x, r, w, result, g, chunk);
            }

            for (; r < r0 + rows; r++)
            {
                Rows<TSimd, TF, TI, One>(x, r, w, result, g, chunk);
            }
        }
    }

    private interface IRowCount
    {
        static abstract int Count { get; }
    }

    private readonly struct One : IRowCount
    {
        public static int Count => 1;
    }

    private readonly struct Four : IRowCount
    {
        public static int Count => 4;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TF Code<TSimd, TF, TI>(TI source, int shift, TI mask, TF zeroPoint)
        where TSimd : ISimd<TF, TI>
        where TF : struct
        where TI : struct =>
        TSimd.Subtract(TSimd.ToSingle(TSimd.And(TSimd.ShiftRightLogical(source, shift), mask)), zeroPoint);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step<TSimd, TF, TI, TRows>(TF c, int t, ref float k0, ref float k1, ref float k2, ref float k3, ref TF d0, ref TF d1, ref TF d2, ref TF d3)
        where TSimd : ISimd<TF, TI>
        where TF : struct
        where TI : struct
        where TRows : IRowCount
    {
        d0 = TSimd.MultiplyAdd(c, TSimd.Splat(Unsafe.Add(ref k0, t)), d0);
        if (TRows.Count > 1)
        {
            d1 = TSimd.MultiplyAdd(c, TSimd.Splat(Unsafe.Add(ref k1, t)), d1);
            d2 = TSimd.MultiplyAdd(c, TSimd.Splat(Unsafe.Add(ref k2, t)), d2);
            d3 = TSimd.MultiplyAdd(c, TSimd.Splat(Unsafe.Add(ref k3, t)), d3);
        }
    }

    private static void Rows<TSimd, TF, TI, TRows>(BlockActivations x, int r, BlockQuantizedWeights w, float[] result, int g, int chunk)
        where TSimd : ISimd<TF, TI>
        where TF : struct
        where TI : struct
        where TRows : IRowCount
    {
        int lanes = TSimd.Count, octetsPerBlock = w.BlockSize / 8, blocks = w.BlockCount, stride = w.Groups * BlockQuantizedWeights.GroupColumns;
        int kp = x.PaddedK, octetBytes = w.OctetBytes;
        bool int4 = w.Bits == 4;
        var mask = TSimd.SplatInt(int4 ? 0x0F : 0xFF);
        ref float x0 = ref x.Padded[r * kp];
        ref float x1 = ref Unsafe.Add(ref x0, TRows.Count > 1 ? kp : 0);
        ref float x2 = ref Unsafe.Add(ref x1, TRows.Count > 1 ? kp : 0);
        ref float x3 = ref Unsafe.Add(ref x2, TRows.Count > 1 ? kp : 0);
        ref byte codes = ref w.Codes[((long)g * w.Octets * octetBytes) + (chunk * lanes * 4)];
        TF a0 = TSimd.Splat(0f), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < blocks; b++)
        {
            int p = (((g * blocks) + b) * BlockQuantizedWeights.GroupColumns) + (chunk * lanes);
            TF zeroPoint = w.IsSymmetric ? TSimd.Splat(1 << (w.Bits - 1)) : TSimd.ToSingle(TSimd.LoadInt(ref w.ZeroPoints[p]));
            TF d0 = TSimd.Splat(0f), d1 = d0, d2 = d0, d3 = d0;
            for (int o = b * octetsPerBlock, end = o + octetsPerBlock; o < end; o++)
            {
                ref byte octet = ref Unsafe.Add(ref codes, (nint)o * octetBytes);
                TI low = TSimd.LoadInt(ref Unsafe.As<byte, int>(ref octet));
                TI high = int4 ? TSimd.ShiftRightLogical(low, 4) : TSimd.LoadInt(ref Unsafe.As<byte, int>(ref Unsafe.Add(ref octet, 32)));
                ref float k0 = ref Unsafe.Add(ref x0, o * 8);
                ref float k1 = ref Unsafe.Add(ref x1, o * 8);
                ref float k2 = ref Unsafe.Add(ref x2, o * 8);
                ref float k3 = ref Unsafe.Add(ref x3, o * 8);
                Step<TSimd, TF, TI, TRows>(Code<TSimd, TF, TI>(low, 0, mask, zeroPoint), 0, ref k0, ref k1, ref k2, ref k3, ref d0, ref d1, ref d2, ref d3);
                Step<TSimd, TF, TI, TRows>(Code<TSimd, TF, TI>(low, 8, mask, zeroPoint), 1, ref k0, ref k1, ref k2, ref k3, ref d0, ref d1, ref d2, ref d3);
                Step<TSimd, TF, TI, TRows>(Code<TSimd, TF, TI>(low, 16, mask, zeroPoint), 2, ref k0, ref k1, ref k2, ref k3, ref d0, ref d1, ref d2, ref d3);
                Step<TSimd, TF, TI, TRows>(Code<TSimd, TF, TI>(low, 24, mask, zeroPoint), 3, ref k0, ref k1, ref k2, ref k3, ref d0, ref d1, ref d2, ref d3);
                Step<TSimd, TF, TI, TRows>(Code<TSimd, TF, TI>(high, 0, mask, zeroPoint), 4, ref k0, ref k1, ref k2, ref k3, ref d0, ref d1, ref d2, ref d3);
                Step<TSimd, TF, TI, TRows>(Code<TSimd, TF, TI>(high, 8, mask, zeroPoint), 5, ref k0, ref k1, ref k2, ref k3, ref d0, ref d1, ref d2, ref d3);
                Step<TSimd, TF, TI, TRows>(Code<TSimd, TF, TI>(high, 16, mask, zeroPoint), 6, ref k0, ref k1, ref k2, ref k3, ref d0, ref d1, ref d2, ref d3);
                Step<TSimd, TF, TI, TRows>(Code<TSimd, TF, TI>(high, 24, mask, zeroPoint), 7, ref k0, ref k1, ref k2, ref k3, ref d0, ref d1, ref d2, ref d3);
            }

            TF scale = TSimd.Load(ref w.Scales[p]);
            a0 = TSimd.MultiplyAdd(d0, scale, a0);
            if (TRows.Count > 1)
            {
                a1 = TSimd.MultiplyAdd(d1, scale, a1);
                a2 = TSimd.MultiplyAdd(d2, scale, a2);
                a3 = TSimd.MultiplyAdd(d3, scale, a3);
            }
        }

        int column = (g * BlockQuantizedWeights.GroupColumns) + (chunk * lanes);
        TSimd.Store(a0, ref result[(r * stride) + column]);
        if (TRows.Count > 1)
        {
            TSimd.Store(a1, ref result[((r + 1) * stride) + column]);
            TSimd.Store(a2, ref result[((r + 2) * stride) + column]);
            TSimd.Store(a3, ref result[((r + 3) * stride) + column]);
        }
    }
}
