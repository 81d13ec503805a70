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

/// <summary>
/// Integer mode, one group of 8 columns, 256-bit (AVX-VNNI or AVX2): four rows at a time (then single rows), every
/// accumulator a local so the JIT keeps them in registers.
/// </summary>
internal static class BlockGemm8c4Vector256
{
    public static void Integer<TCodes, TDot>(BlockActivations x, int r0, int rows, BlockQuantizedWeights w, float[] result, int g)
        where TCodes : ICodes256
        where TDot : IDot256
    {
        int r = r0;
        for (; r + 4 <= r0 + rows; r += 4)
        {
            Rows4<TCodes, TDot>(x, r, w, result, g);
        }

        for (; r < r0 + rows; r++)
        {
            Row1<TCodes, TDot>(x, r, w, result, g);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Broadcast(ref sbyte source) => Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<sbyte, byte>(ref source))).AsSByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Epilogue(Vector256<int> dot, Vector256<int> zeroPoint, Vector256<float> scale, BlockActivations x, int q, Vector256<float> acc) =>
        Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot - (zeroPoint * Vector256.Create(x.Sums![q]))), scale * Vector256.Create(x.Scales![q]), acc);

    private static void Row1<TCodes, TDot>(BlockActivations x, int r, BlockQuantizedWeights w, float[] result, int g)
        where TCodes : ICodes256
        where TDot : IDot256
    {
        int octetsPerBlock = w.BlockSize / 8, blocks = w.BlockCount, octetBytes = w.OctetBytes;
        ref byte codes = ref w.Codes[(long)g * w.Octets * octetBytes];
        ref sbyte xr = ref x.Codes![r * x.PaddedK];
        Vector256<float> acc = default;
        for (int b = 0; b < blocks; b++)
        {
            // Four independent chains (two octets × low/high) hide vpdpbusd's latency; a block has an even number of octets.
            Vector256<int> d0 = default, d1 = default, d2 = default, d3 = default;
            for (int o = b * octetsPerBlock, end = o + octetsPerBlock; o < end; o += 2)
            {
                var (low, high) = TCodes.Load(ref Unsafe.Add(ref codes, (nint)o * octetBytes));
                var (low2, high2) = TCodes.Load(ref Unsafe.Add(ref codes, (nint)(o + 1) * octetBytes));
                ref sbyte xo = ref Unsafe.Add(ref xr, o * 8);
                d0 = TDot.Dot(d0, low, Broadcast(ref xo));
                d1 = TDot.Dot(d1, high, Broadcast(ref Unsafe.Add(ref xo, 4)));
                d2 = TDot.Dot(d2, low2, Broadcast(ref Unsafe.Add(ref xo, 8)));
                d3 = TDot.Dot(d3, high2, Broadcast(ref Unsafe.Add(ref xo, 12)));
            }

            int p = ((g * blocks) + b) * BlockQuantizedWeights.GroupColumns;
            acc = Epilogue((d0 + d1) + (d2 + d3), Vector256.LoadUnsafe(ref w.ZeroPoints[p]), Vector256.LoadUnsafe(ref w.Scales[p]), x, (r * blocks) + b, acc);
        }

        acc.StoreUnsafe(ref result[(r * w.Groups * BlockQuantizedWeights.GroupColumns) + (g * BlockQuantizedWeights.GroupColumns)]);
    }

    private static void Rows4<TCodes, TDot>(BlockActivations x, int r, BlockQuantizedWeights w, float[] result, int g)
        where TCodes : ICodes256
        where TDot : IDot256
    {
        int octetsPerBlock = w.BlockSize / 8, blocks = w.BlockCount, octetBytes = w.OctetBytes, kp = x.PaddedK;
        ref byte codes = ref w.Codes[(long)g * w.Octets * octetBytes];
        ref sbyte x0 = ref x.Codes![r * kp];
        ref sbyte x1 = ref Unsafe.Add(ref x0, kp);
        ref sbyte x2 = ref Unsafe.Add(ref x1, kp);
        ref sbyte x3 = ref Unsafe.Add(ref x2, kp);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int b = 0; b < blocks; b++)
        {
            // Low and high halves in separate accumulators: eight independent vpdpbusd chains.
            Vector256<int> d0 = default, d1 = default, d2 = default, d3 = default, e0 = default, e1 = default, e2 = default, e3 = default;
            for (int o = b * octetsPerBlock, end = o + octetsPerBlock; o < end; o++)
            {
                var (low, high) = TCodes.Load(ref Unsafe.Add(ref codes, (nint)o * octetBytes));
                int k = o * 8;
                d0 = TDot.Dot(d0, low, Broadcast(ref Unsafe.Add(ref x0, k)));
                e0 = TDot.Dot(e0, high, Broadcast(ref Unsafe.Add(ref x0, k + 4)));
                d1 = TDot.Dot(d1, low, Broadcast(ref Unsafe.Add(ref x1, k)));
                e1 = TDot.Dot(e1, high, Broadcast(ref Unsafe.Add(ref x1, k + 4)));
                d2 = TDot.Dot(d2, low, Broadcast(ref Unsafe.Add(ref x2, k)));
                e2 = TDot.Dot(e2, high, Broadcast(ref Unsafe.Add(ref x2, k + 4)));
                d3 = TDot.Dot(d3, low, Broadcast(ref Unsafe.Add(ref x3, k)));
                e3 = TDot.Dot(e3, high, Broadcast(ref Unsafe.Add(ref x3, k + 4)));
            }

            int p = ((g * blocks) + b) * BlockQuantizedWeights.GroupColumns;
            var zeroPoint = Vector256.LoadUnsafe(ref w.ZeroPoints[p]);
            var scale = Vector256.LoadUnsafe(ref w.Scales[p]);
            a0 = Epilogue(d0 + e0, zeroPoint, scale, x, (r * blocks) + b, a0);
            a1 = Epilogue(d1 + e1, zeroPoint, scale, x, ((r + 1) * blocks) + b, a1);
            a2 = Epilogue(d2 + e2, zeroPoint, scale, x, ((r + 2) * blocks) + b, a2);
            a3 = Epilogue(d3 + e3, zeroPoint, scale, x, ((r + 3) * blocks) + b, a3);
        }

        int stride = w.Groups * BlockQuantizedWeights.GroupColumns, column = g * BlockQuantizedWeights.GroupColumns;
        a0.StoreUnsafe(ref result[(r * stride) + column]);
        a1.StoreUnsafe(ref result[((r + 1) * stride) + column]);
        a2.StoreUnsafe(ref result[((r + 2) * stride) + column]);
        a3.StoreUnsafe(ref result[((r + 3) * stride) + column]);
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
/// Float mode over <see cref="ISimd{TF, TI}"/> (8 or 4 lanes): codes are taken out of each lane's bytes with constant
/// shifts and masks, converted to float once for up to four rows, and multiplied in K order exactly as the scalar
/// reference does.
/// </summary>
internal static class BlockGemmFloat8Simd
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
            TF zeroPoint = TSimd.ToSingle(TSimd.LoadInt(ref w.ZeroPoints[p]));
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
