using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace Quant.Net.Kernels;

/// <summary>Integer mode on ARM with the dot-product extension: the group as two halves of 4 columns, <c>sdot</c>.</summary>
internal static class BlockGemm4c4AdvSimdDp
{
    [SkipLocalsInit]
    public static void Integer(BlockActivations x, int r0, int rows, BlockQuantizedWeights w, float[] result, int g)
    {
        Span<Vector128<float>> acc = stackalloc Vector128<float>[BlockGemmKernels.MaxRows * 2];
        Span<Vector128<int>> dot = stackalloc Vector128<int>[BlockGemmKernels.MaxRows * 2];
        acc.Clear();
        int octetsPerBlock = w.BlockSize / 8, blocks = w.BlockCount;
        bool int4 = w.Bits == 4;
        // 8-bit codes do not fit sdot's signed operand: code − 128 does, with the zero point moved by the same 128.
        var flip = Vector128.Create(int4 ? (byte)0 : (byte)0x80);
        int zeroShift = int4 ? 0 : 128;
        ref byte codes = ref w.Codes[(long)g * w.Octets * w.OctetBytes];
        ref sbyte xq = ref x.Codes![0];
        var mask = Vector128.Create((byte)0x0F);
        for (int b = 0; b < blocks; b++)
        {
            dot[..(rows * 2)].Clear();
            for (int o = b * octetsPerBlock; o < (b + 1) * octetsPerBlock; o++)
            {
                ref byte octet = ref Unsafe.Add(ref codes, (nint)o * w.OctetBytes);
                for (int half = 0; half < 2; half++)
                {
                    Vector128<byte> low, high;
                    if (int4)
                    {
                        var v = Vector128.LoadUnsafe(ref octet, (nuint)(half * 16));
                        (low, high) = (v & mask, Vector128.ShiftRightLogical(v, 4));
                    }
                    else
                    {
                        (low, high) = (Vector128.LoadUnsafe(ref octet, (nuint)(half * 16)) ^ flip, Vector128.LoadUnsafe(ref octet, (nuint)(32 + (half * 16))) ^ flip);
                    }

                    for (int r = 0; r < rows; r++)
                    {
                        ref sbyte row = ref Unsafe.Add(ref xq, ((r0 + r) * x.PaddedK) + (o * 8));
                        var x0 = Vector128.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<sbyte, byte>(ref row))).AsSByte();
                        var x1 = Vector128.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref row, 4)))).AsSByte();
                        int i = (r * 2) + half;
                        dot[i] = Dp.DotProduct(Dp.DotProduct(dot[i], low.AsSByte(), x0), high.AsSByte(), x1);
                    }
                }
            }

            int p = ((g * blocks) + b) * BlockQuantizedWeights.GroupColumns;
            for (int half = 0; half < 2; half++)
            {
                var scale = Vector128.LoadUnsafe(ref w.Scales[p + (half * 4)]);
                var zeroPoint = (w.IsSymmetric ? Vector128.Create(1 << (w.Bits - 1)) : Vector128.LoadUnsafe(ref w.ZeroPoints[p + (half * 4)])) - Vector128.Create(zeroShift);
                for (int r = 0; r < rows; r++)
                {
                    int q = ((r0 + r) * blocks) + b, i = (r * 2) + half;
                    var corrected = dot[i] - (zeroPoint * Vector128.Create(x.Sums![q]));
                    acc[i] = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(corrected), scale * Vector128.Create(x.Scales![q]), acc[i]);
                }
            }
        }

        int stride = w.Groups * BlockQuantizedWeights.GroupColumns;
        for (int r = 0; r < rows; r++)
        {
            for (int half = 0; half < 2; half++)
            {
                acc[(r * 2) + half].StoreUnsafe(ref result[((r0 + r) * stride) + (g * BlockQuantizedWeights.GroupColumns) + (half * 4)]);
            }
        }
    }
}
