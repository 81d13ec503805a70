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
    /// Per row and block: scale = absmax / 127 (1 for an all-zero or non-finite block), codes as <see cref="QuantOps"/>
    /// quantizes (true division, round half to even, saturation to ±127, NaN to −127), and their sum. A row is quantized
    /// in one vector pass with its blocks' scales spread per element (per-block calls would run a 32-value block through
    /// the scalar tail of a 512-bit kernel).
    /// </summary>
    public static void QuantizeActivations(float[] padded, int m, int kp, int blockSize, sbyte[] codes, float[] scales, int[] sums)
    {
        int blocks = kp / blockSize;
        var floats = System.Buffers.ArrayPool<float>.Shared;
        float[] elementScales = floats.Rent(kp), zeroPoints = floats.Rent(kp);
        try
        {
            Array.Clear(zeroPoints, 0, kp);
            for (int r = 0; r < m; r++)
            {
                for (int b = 0; b < blocks; b++)
                {
                    float absMax = Math.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude<float>(padded.AsSpan((r * kp) + (b * blockSize), blockSize)));
                    float scale = absMax > 0 && float.IsFinite(absMax) ? absMax / 127f : 1f;
                    scales[(r * blocks) + b] = scale;
                    elementScales.AsSpan(b * blockSize, blockSize).Fill(scale);
                }

                Elementwise.Quantize(IsaConfig.Best.Elementwise, padded.AsSpan(r * kp, kp), codes.AsSpan(r * kp, kp), ref elementScales[0], ref zeroPoints[0], true, -127, 127);
                for (int b = 0; b < blocks; b++)
                {
                    sums[(r * blocks) + b] = Sum(codes.AsSpan((r * kp) + (b * blockSize), blockSize));
                }
            }
        }
        finally
        {
            floats.Return(elementScales);
            floats.Return(zeroPoints);
        }
    }

    /// <summary>Σ of a block's codes (16 to 256 of them, a multiple of 16): int16 lanes hold at most 32 codes each.</summary>
    private static int Sum(ReadOnlySpan<sbyte> block)
    {
        ref sbyte start = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(block);
        var acc = Vector128<short>.Zero;
        for (int i = 0; i < block.Length; i += 16)
        {
            var (low, high) = Vector128.Widen(Vector128.LoadUnsafe(ref start, (nuint)i));
            acc += low + high;
        }

        var (a, b) = Vector128.Widen(acc);
        return Vector128.Sum(a + b);
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
                        BlockGemm8c4Vector256.IntegerPair<Int4Codes, Avx2Int16Dot>(x, r0, rows, w, result, g);
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
                    BlockGemm8c4Vector256.Integer<Int4Codes, Avx2Int16Dot>(x, r0, rows, w, result, g);
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
