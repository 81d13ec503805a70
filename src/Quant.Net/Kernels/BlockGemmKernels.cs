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

    /// <summary>Per row and block: scale = absmax / 127 (1 for an all-zero block), codes round-half-even, their sum.</summary>
    public static void QuantizeActivations(float[] padded, int m, int kp, int blockSize, sbyte[] codes, float[] scales, int[] sums)
    {
        int blocks = kp / blockSize;
        for (int r = 0; r < m; r++)
        {
            for (int b = 0; b < blocks; b++)
            {
                var block = padded.AsSpan((r * kp) + (b * blockSize), blockSize);
                float absMax = 0;
                foreach (float v in block)
                {
                    absMax = Math.Max(absMax, Math.Abs(v));
                }

                float scale = absMax > 0 && float.IsFinite(absMax) ? absMax / 127f : 1f;
                int sum = 0;
                for (int i = 0; i < blockSize; i++)
                {
                    float q = MathF.Round(block[i] / scale, MidpointRounding.ToEven);
                    int c = float.IsNaN(q) ? 0 : (int)Math.Clamp(q, -127f, 127f);
                    codes[(r * kp) + (b * blockSize) + i] = (sbyte)c;
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
            switch (level)
            {
                case SimdLevel.Vector256 or SimdLevel.Vector512:
                    BlockGemmFloat8Simd.Float<Simd256, Vector256<float>, Vector256<int>>(x, r0, rows, w, result, g);
                    break;
                case SimdLevel.Vector128:
                    BlockGemmFloat8Simd.Float<Simd128, Vector128<float>, Vector128<int>>(x, r0, rows, w, result, g);
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
                        dot += Code(w, g, lane, k) * x.Codes![(r * x.PaddedK) + k];
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
                        d = MathF.FusedMultiplyAdd(Code(w, g, lane, k) - zeroPoint, x.Padded[(r * x.PaddedK) + k], d);
                    }

                    acc = MathF.FusedMultiplyAdd(d, w.Scales[p], acc);
                }

                result[(r * Stride(w)) + column] = acc;
            }
        }
    }

    private static int Code(BlockQuantizedWeights w, int g, int lane, int k)
    {
        int octet = k / 8, t = k % 8;
        int i = (((g * w.Octets) + octet) * w.OctetBytes) + (lane * 4) + (t % 4);
        return w.Bits == 4 ? (w.Codes[i] >> (t < 4 ? 0 : 4)) & 0xF : w.Codes[i + (t < 4 ? 0 : 32)];
    }
}

/// <summary>How codes of one group octet are read: two vectors of 8 lanes × 4 unsigned bytes (k 0..3 and k 4..7).</summary>
internal interface ICodes256
{
    static abstract (Vector256<byte> Low, Vector256<byte> High) Load(ref byte octet);
}

internal readonly struct Int4Codes : ICodes256
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<byte> Low, Vector256<byte> High) Load(ref byte octet)
    {
        var v = Vector256.LoadUnsafe(ref octet);
        var mask = Vector256.Create((byte)0x0F);
        return (v & mask, Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & mask);
    }
}

internal readonly struct Int8Codes : ICodes256
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<byte> Low, Vector256<byte> High) Load(ref byte octet) => (Vector256.LoadUnsafe(ref octet), Vector256.LoadUnsafe(ref octet, 32));
}

/// <summary>Adds to each int32 lane the dot product of its 4 unsigned code bytes with 4 signed activation bytes.</summary>
internal interface IDot256
{
    static abstract Vector256<int> Dot(Vector256<int> acc, Vector256<byte> codes, Vector256<sbyte> x);
}

/// <summary><c>vpdpbusd ymm</c>: u8 × s8, exact.</summary>
internal readonly struct VnniDot : IDot256
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> codes, Vector256<sbyte> x) =>
        System.Runtime.Intrinsics.X86.AvxVnni.MultiplyWideningAndAdd(acc, codes, x);
}

/// <summary><c>vpmaddubsw</c> + <c>vpmaddwd</c>: exact for 4-bit codes (pair sums ≤ 2·15·127, far from int16 saturation).</summary>
internal readonly struct Avx2SmallDot : IDot256
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> codes, Vector256<sbyte> x) =>
        acc + System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(codes, x), Vector256.Create((short)1));
}

/// <summary>8-bit codes on AVX2: widened to int16 (<c>vpmaddubsw</c> would saturate at 2·255·127), <c>vpmaddwd</c>, pairs added.</summary>
internal readonly struct Avx2WideDot : IDot256
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> codes, Vector256<sbyte> x)
    {
        var xs = System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int16(x.GetLower());
        var low = System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int16(codes.GetLower()), xs);
        var high = System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int16(codes.GetUpper()), xs);
        // hadd pairs within 128-bit halves gives lanes 0,1,4,5 | 2,3,6,7; the permute restores 0..7.
        var sums = System.Runtime.Intrinsics.X86.Avx2.HorizontalAdd(low, high);
        return acc + System.Runtime.Intrinsics.X86.Avx2.PermuteVar8x32(sums, Vector256.Create(0, 1, 4, 5, 2, 3, 6, 7));
    }
}

/// <summary>Integer mode, one group of 8 columns × up to <see cref="BlockGemmKernels.MaxRows"/> rows, 256-bit (AVX-VNNI or AVX2).</summary>
internal static class BlockGemm8c4Vector256
{
    [SkipLocalsInit]
    public static void Integer<TCodes, TDot>(BlockActivations x, int r0, int rows, BlockQuantizedWeights w, float[] result, int g)
        where TCodes : ICodes256
        where TDot : IDot256
    {
        Span<Vector256<float>> acc = stackalloc Vector256<float>[BlockGemmKernels.MaxRows];
        Span<Vector256<int>> dot = stackalloc Vector256<int>[BlockGemmKernels.MaxRows];
        acc.Clear();
        int octetsPerBlock = w.BlockSize / 8, blocks = w.BlockCount;
        ref byte codes = ref w.Codes[(long)g * w.Octets * w.OctetBytes];
        ref sbyte xq = ref x.Codes![0];
        for (int b = 0; b < blocks; b++)
        {
            dot[..rows].Clear();
            for (int o = b * octetsPerBlock; o < (b + 1) * octetsPerBlock; o++)
            {
                var (low, high) = TCodes.Load(ref Unsafe.Add(ref codes, (nint)o * w.OctetBytes));
                for (int r = 0; r < rows; r++)
                {
                    ref sbyte row = ref Unsafe.Add(ref xq, ((r0 + r) * x.PaddedK) + (o * 8));
                    var x0 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<sbyte, byte>(ref row))).AsSByte();
                    var x1 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref row, 4)))).AsSByte();
                    dot[r] = TDot.Dot(TDot.Dot(dot[r], low, x0), high, x1);
                }
            }

            int p = ((g * blocks) + b) * BlockQuantizedWeights.GroupColumns;
            var scale = Vector256.LoadUnsafe(ref w.Scales[p]);
            var zeroPoint = Vector256.LoadUnsafe(ref w.ZeroPoints[p]);
            for (int r = 0; r < rows; r++)
            {
                int q = ((r0 + r) * blocks) + b;
                var corrected = dot[r] - (zeroPoint * Vector256.Create(x.Sums![q]));
                acc[r] = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(corrected), scale * Vector256.Create(x.Scales![q]), acc[r]);
            }
        }

        int stride = w.Groups * BlockQuantizedWeights.GroupColumns;
        for (int r = 0; r < rows; r++)
        {
            acc[r].StoreUnsafe(ref result[((r0 + r) * stride) + (g * BlockQuantizedWeights.GroupColumns)]);
        }
    }
}

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
                var zeroPoint = Vector128.LoadUnsafe(ref w.ZeroPoints[p + (half * 4)]) - Vector128.Create(zeroShift);
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

/// <summary>
/// Float mode over <see cref="ISimd{TF, TI}"/> (8 or 4 lanes): codes are taken out of each lane's bytes with shifts and
/// masks, converted to float, and multiplied in K order exactly as the scalar reference does.
/// </summary>
internal static class BlockGemmFloat8Simd
{
    public static void Float<TSimd, TF, TI>(BlockActivations x, int r0, int rows, BlockQuantizedWeights w, float[] result, int g)
        where TSimd : ISimd<TF, TI>
        where TF : struct
        where TI : struct
    {
        int lanes = TSimd.Count, chunks = BlockQuantizedWeights.GroupColumns / lanes;
        int octetsPerBlock = w.BlockSize / 8, blocks = w.BlockCount, stride = w.Groups * BlockQuantizedWeights.GroupColumns;
        var mask = TSimd.SplatInt(w.Bits == 4 ? 0x0F : 0xFF);
        for (int chunk = 0; chunk < chunks; chunk++)
        {
            for (int r = r0; r < r0 + rows; r++)
            {
                TF acc = TSimd.Splat(0f);
                ref float xr = ref x.Padded[r * x.PaddedK];
                for (int b = 0; b < blocks; b++)
                {
                    int p = (((g * blocks) + b) * BlockQuantizedWeights.GroupColumns) + (chunk * lanes);
                    TF zeroPoint = TSimd.ToSingle(TSimd.LoadInt(ref w.ZeroPoints[p]));
                    TF d = TSimd.Splat(0f);
                    for (int o = b * octetsPerBlock; o < (b + 1) * octetsPerBlock; o++)
                    {
                        ref byte octet = ref w.Codes[((((long)g * w.Octets) + o) * w.OctetBytes) + (chunk * lanes * 4)];
                        TI low = TSimd.LoadInt(ref Unsafe.As<byte, int>(ref octet));
                        TI high = w.Bits == 4 ? TSimd.ShiftRightLogical(low, 4) : TSimd.LoadInt(ref Unsafe.As<byte, int>(ref Unsafe.Add(ref octet, 32)));
                        for (int t = 0; t < 8; t++)
                        {
                            TI source = t < 4 ? low : high;
                            TF code = TSimd.ToSingle(TSimd.And(TSimd.ShiftRightLogical(source, (t % 4) * 8), mask));
                            d = TSimd.MultiplyAdd(TSimd.Subtract(code, zeroPoint), TSimd.Splat(Unsafe.Add(ref xr, (o * 8) + t)), d);
                        }
                    }

                    acc = TSimd.MultiplyAdd(d, TSimd.Load(ref w.Scales[p]), acc);
                }

                TSimd.Store(acc, ref result[(r * stride) + (g * BlockQuantizedWeights.GroupColumns) + (chunk * lanes)]);
            }
        }
    }
}
