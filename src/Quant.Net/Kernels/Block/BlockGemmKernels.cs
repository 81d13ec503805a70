using Quant.Net.Simd;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace Quant.Net.Kernels;

/// <summary>
/// Drivers of the block kernels over groups of 8 output columns, and the scalar reference of both modes (the oracle
/// every vector path is tested against bit for bit). Per block the integer mode computes
/// <c>acc = fma((float)(Σ code·xq − zp·Σ xq), scale_w · scale_x, acc)</c>; the float mode
/// <c>d = fma(code − zp, x, d)</c> over the block in K order, then <c>acc = fma(d, scale_w, acc)</c>.
/// </summary>
internal static class BlockGemmKernels
{
    /// <summary>Rows handled together (codes are unpacked once for all of them).</summary>
    public const int MaxRows = 8;

    /// <summary>
    /// Per row and block: scale = absmax / 127 (1 for an all-zero or non-finite block), codes by <see cref="QuantOps"/>
    /// (true division, round half to even, saturation to ±127, NaN to −127), and their sum.
    /// </summary>
    public static void QuantizeActivations(float[] padded, int m, int kp, int blockSize, sbyte[] codes, float[] scales, int[] sums)
    {
        int blocks = kp / blockSize;
        for (int r = 0; r < m; r++)
        {
            for (int b = 0; b < blocks; b++)
            {
                int offset = (r * kp) + (b * blockSize);
                var block = padded.AsSpan(offset, blockSize);
                float absMax = Math.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude<float>(block));
                float scale = absMax > 0 && float.IsFinite(absMax) ? absMax / 127f : 1f;
                var target = codes.AsSpan(offset, blockSize);
                QuantOps.Quantize<sbyte>(block, target, new QuantParams(scale, 0, -127, 127));
                int sum = 0;
                foreach (sbyte c in target)
                {
                    sum += c;
                }

                scales[(r * blocks) + b] = scale;
                sums[(r * blocks) + b] = sum;
            }
        }
    }

    public static void IntegerGroups(BlockActivations x, int r0, int rows, BlockQuantizedWeights w, float[] result, int g0, int g1, BlockGemmPath path)
    {
        for (int g = g0; g < g1; g++)
        {
            if (g + 1 < g1 && path is BlockGemmPath.AvxVnni or BlockGemmPath.Avx2)
            {
                switch (path, w.Bits)
                {
                    case (BlockGemmPath.AvxVnni, 4):
                        BlockGemm8c4Vector256.IntegerPair<Int4Codes, VnniDot>(x, r0, rows, w, result, g);
                        break;
                    case (BlockGemmPath.AvxVnni, _):
                        BlockGemm8c4Vector256.IntegerPair<Int8Codes, VnniDot>(x, r0, rows, w, result, g);
                        break;
                    case (_, 4):
                        BlockGemm8c4Vector256.IntegerPair<Int4Codes, Avx2SmallDot>(x, r0, rows, w, result, g);
                        break;
                    default:
                        BlockGemm8c4Vector256.IntegerPair<Int8Codes, Avx2WideDot>(x, r0, rows, w, result, g);
                        break;
                }

                g++;
                continue;
            }

            switch (path)
            {
                case BlockGemmPath.AvxVnni when w.Bits == 4:
                    BlockGemm8c4Vector256.Integer<Int4Codes, VnniDot>(x, r0, rows, w, result, g);
                    break;
                case BlockGemmPath.AvxVnni:
                    BlockGemm8c4Vector256.Integer<Int8Codes, VnniDot>(x, r0, rows, w, result, g);
                    break;
                case BlockGemmPath.Avx2 when w.Bits == 4:
                    BlockGemm8c4Vector256.Integer<Int4Codes, Avx2SmallDot>(x, r0, rows, w, result, g);
                    break;
                case BlockGemmPath.Avx2:
                    BlockGemm8c4Vector256.Integer<Int8Codes, Avx2WideDot>(x, r0, rows, w, result, g);
                    break;
                case BlockGemmPath.AdvSimdDp:
                    BlockGemm4c4AdvSimdDp.Integer(x, r0, rows, w, result, g);
                    break;
                default:
                    IntegerScalar(x, r0, rows, w, result, g);
                    break;
            }
        }
    }

    public static void FloatGroups(BlockActivations x, int r0, int rows, BlockQuantizedWeights w, float[] result, int g0, int g1, SimdLevel level)
    {
        for (int g = g0; g < g1; g++)
        {
            if (level == SimdLevel.Vector512 && g + 1 < g1)
            {
                BlockGemmFloatAct4x16Avx512.FloatPair(x, r0, rows, w, result, g);
                g++;
                continue;
            }

            switch (level)
            {
                case SimdLevel.Vector256 or SimdLevel.Vector512:
                    BlockGemmFloatAct4x8Simd.Float<Simd256, Vector256<float>, Vector256<int>>(x, r0, rows, w, result, g);
                    break;
                case SimdLevel.Vector128:
                    BlockGemmFloatAct4x8Simd.Float<Simd128, Vector128<float>, Vector128<int>>(x, r0, rows, w, result, g);
                    break;
                default:
                    FloatScalar(x, r0, rows, w, result, g);
                    break;
            }
        }
    }

    private static int Stride(BlockQuantizedWeights w) => w.Groups * BlockQuantizedWeights.GroupColumns;

    public static void IntegerScalar(BlockActivations x, int r0, int rows, BlockQuantizedWeights w, float[] result, int g)
    {
        int bs = w.BlockSize, blocks = w.BlockCount;
        for (int lane = 0; lane < BlockQuantizedWeights.GroupColumns; lane++)
        {
            int column = (g * BlockQuantizedWeights.GroupColumns) + lane;
            for (int r = r0; r < r0 + rows; r++)
            {
                float acc = 0;
                for (int b = 0; b < blocks; b++)
                {
                    int p = (((g * blocks) + b) * BlockQuantizedWeights.GroupColumns) + lane;
                    int dot = 0;
                    for (int i = 0; i < bs; i++)
                    {
                        int k = (b * bs) + i;
                        dot += w.CodeAt(g, lane, k) * x.Codes![(r * x.PaddedK) + k];
                    }

                    int corrected = dot - (w.ZeroPoints[p] * x.Sums![(r * blocks) + b]);
                    acc = MathF.FusedMultiplyAdd(corrected, w.Scales[p] * x.Scales![(r * blocks) + b], acc);
                }

                result[(r * Stride(w)) + column] = acc;
            }
        }
    }

    public static void FloatScalar(BlockActivations x, int r0, int rows, BlockQuantizedWeights w, float[] result, int g)
    {
        int bs = w.BlockSize, blocks = w.BlockCount;
        for (int lane = 0; lane < BlockQuantizedWeights.GroupColumns; lane++)
        {
            int column = (g * BlockQuantizedWeights.GroupColumns) + lane;
            for (int r = r0; r < r0 + rows; r++)
            {
                float acc = 0;
                for (int b = 0; b < blocks; b++)
                {
                    int p = (((g * blocks) + b) * BlockQuantizedWeights.GroupColumns) + lane;
                    float zeroPoint = w.ZeroPoints[p], d = 0;
                    for (int i = 0; i < bs; i++)
                    {
                        int k = (b * bs) + i;
                        d = MathF.FusedMultiplyAdd(w.CodeAt(g, lane, k) - zeroPoint, x.Padded[(r * x.PaddedK) + k], d);
                    }

                    acc = MathF.FusedMultiplyAdd(d, w.Scales[p], acc);
                }

                result[(r * Stride(w)) + column] = acc;
            }
        }
    }
}
