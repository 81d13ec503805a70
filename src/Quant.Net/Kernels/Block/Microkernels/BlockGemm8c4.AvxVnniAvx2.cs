using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quant.Net.Kernels;

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

/// <summary>
/// A dot step of the block kernels, whose accumulator may need widening: a chain takes at most <see cref="DotsPerRun"/>
/// steps before <see cref="Widen"/> turns it into int32 lane sums (each lane: the 4 k of one column).
/// </summary>
internal interface IRunDot256 : IDot256
{
    static abstract int DotsPerRun { get; }

    static abstract Vector256<int> Widen(Vector256<int> acc);
}

/// <summary><c>vpdpbusd ymm</c>: u8 × s8, exact.</summary>
internal readonly struct VnniDot : IRunDot256
{
    public static int DotsPerRun => int.MaxValue;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Widen(Vector256<int> acc) => acc;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> codes, Vector256<sbyte> x) =>
        System.Runtime.Intrinsics.X86.AvxVnni.MultiplyWideningAndAdd(acc, codes, x);
}

/// <summary>
/// <c>vpmaddubsw</c> + <c>vpmaddwd</c> with ones: exact whenever no pair sum leaves int16 — the int8 GEMM's pair-safe weights
/// (≤ 255·128, <see cref="Simd.Int8GemmPath.Avx2MaddUbs"/>).
/// </summary>
internal readonly struct Avx2SmallDot : IDot256
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> codes, Vector256<sbyte> x) =>
        acc + System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(codes, x), Vector256.Create((short)1));
}

/// <summary>
/// 4-bit codes on AVX2: <c>vpmaddubsw</c> pair sums (|2·15·127| = 3,810) added in int16 lanes (the accumulator is an int16
/// vector in int32 clothing) for up to 8 steps (30,480 &lt; 2¹⁵), then one <c>vpmaddwd</c> with ones per chain and run
/// instead of one per step. Exact.
/// </summary>
internal readonly struct Avx2Int16Dot : IRunDot256
{
    public static int DotsPerRun => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> codes, Vector256<sbyte> x) =>
        (acc.AsInt16() + System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(codes, x)).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Widen(Vector256<int> acc) =>
        System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(acc.AsInt16(), Vector256.Create((short)1));
}

/// <summary>8-bit codes on AVX2: widened to int16 (<c>vpmaddubsw</c> would saturate at 2·255·127), <c>vpmaddwd</c>, pairs added.</summary>
internal readonly struct Avx2WideDot : IRunDot256
{
    public static int DotsPerRun => int.MaxValue;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Widen(Vector256<int> acc) => acc;

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
    /// <summary>
    /// How far ahead of the block being read the single-row kernel prefetches both groups' codes (and their scales):
    /// a GEMV streams weights larger than the cache once, and the hardware prefetcher alone left 4096×11008 int4 at
    /// 1.8–1.9 ms against 1.3 with this (one thread, AMD Zen 5). Prefetches never fault, past the end included.
    /// </summary>
    private const int PrefetchBytes = 2048;

    public static void Integer<TCodes, TDot>(BlockActivations x, int r0, int rows, BlockQuantizedWeights w, float[] result, int g)
        where TCodes : ICodes256
        where TDot : IRunDot256
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

    /// <summary>Groups g and g + 1: four-row passes per group, single rows for both groups at once (shared broadcasts).</summary>
    public static void IntegerPair<TCodes, TDot>(BlockActivations x, int r0, int rows, BlockQuantizedWeights w, float[] result, int g)
        where TCodes : ICodes256
        where TDot : IRunDot256
    {
        int r = r0;
        for (; r + 4 <= r0 + rows; r += 4)
        {
            Rows4Pair<TCodes, TDot>(x, r, w, result, g);
        }

        for (; r < r0 + rows; r++)
        {
            Row1Pair<TCodes, TDot>(x, r, w, result, g);
        }
    }

    /// <summary>
    /// Four rows × groups g and g + 1: each broadcast of 4 activation bytes feeds both groups' codes, and each block's
    /// epilogue broadcasts a row's activation sum and scale once for both groups. Eight dot chains (row × group), each
    /// taking the low and the high half of an octet in turn. Only the chains and the codes live in registers (14 of the
    /// 16 a VEX encoding can name: the JIT copies accumulators above ymm15 through a low register around every
    /// <c>vpdpbusd</c>); the float accumulators are the output rows themselves (one load and store per block), and the
    /// int32 sums of a block that needs several runs (AVX2's int16 chains) wait in a stack buffer.
    /// </summary>
    private static unsafe void Rows4Pair<TCodes, TDot>(BlockActivations x, int r, BlockQuantizedWeights w, float[] result, int g)
        where TCodes : ICodes256
        where TDot : IRunDot256
    {
        int octetsPerBlock = w.BlockSize / 8, blocks = w.BlockCount, octetBytes = w.OctetBytes, kp = x.PaddedK;
        nint groupBytes = (nint)w.Octets * octetBytes, parameterStride = (nint)blocks * BlockQuantizedWeights.GroupColumns;
        ref byte codes = ref w.Codes[(long)g * groupBytes];
        _ = w.Codes[((long)(g + 2) * groupBytes) - 1]; // group g + 1 is whole
        ref sbyte x0 = ref x.Codes![r * kp];
        _ = x.Codes[((r + 4) * kp) - 1];
        ref sbyte x1 = ref Unsafe.Add(ref x0, kp);
        ref sbyte x2 = ref Unsafe.Add(ref x1, kp);
        ref sbyte x3 = ref Unsafe.Add(ref x2, kp);
        ref float xScales = ref x.Scales![r * blocks];
        ref int xSums = ref x.Sums![r * blocks];
        _ = x.Sums[((r + 4) * blocks) - 1] + x.Scales[((r + 4) * blocks) - 1];
        int firstParameter = g * blocks * BlockQuantizedWeights.GroupColumns;
        ref float scales = ref w.Scales[firstParameter];
        _ = w.Scales[firstParameter + (2 * (int)parameterStride) - 1];
        bool symmetric = w.IsSymmetric;
        ref int zeroPoints = ref w.ZeroPoints[symmetric ? 0 : firstParameter];
        _ = w.ZeroPoints[firstParameter + (2 * (int)parameterStride) - 1];
        int middle = 1 << (w.Bits - 1);

        int stride = w.Groups * BlockQuantizedWeights.GroupColumns;
        _ = result[((r + 3) * stride) + (g * BlockQuantizedWeights.GroupColumns) + (2 * BlockQuantizedWeights.GroupColumns) - 1];
        ref float y = ref result[(r * stride) + (g * BlockQuantizedWeights.GroupColumns)];
        for (int row = 0; row < 4; row++)
        {
            Vector256<float>.Zero.StoreUnsafe(ref y, (nuint)(row * stride));
            Vector256<float>.Zero.StoreUnsafe(ref y, (nuint)((row * stride) + BlockQuantizedWeights.GroupColumns));
        }

        int run = Math.Min(octetsPerBlock, TDot.DotsPerRun / 2); // two steps per chain per octet
        nint blockBytes = (nint)octetsPerBlock * octetBytes;
        int aheadBlocks = (int)(PrefetchBytes / blockBytes);
        Vector256<int>* pending = stackalloc Vector256<int>[8];
        for (int b = 0; b < blocks; b++)
        {
            Prefetch(ref codes, b, blockBytes, aheadBlocks, w, g, groups: 2, groupBytes, parameterStride);
            Vector256<int> d0 = default, d1 = default, d2 = default, d3 = default, e0 = default, e1 = default, e2 = default, e3 = default;
            bool spilled = false;
            for (int o = b * octetsPerBlock, end = o + octetsPerBlock; ;)
            {
                for (int runEnd = o + run; o < runEnd; o++)
                {
                    ref byte octet = ref Unsafe.Add(ref codes, (nint)o * octetBytes);
                    var (low, high) = TCodes.Load(ref octet);
                    var (low2, high2) = TCodes.Load(ref Unsafe.Add(ref octet, groupBytes));
                    nint k = (nint)o * 8;
                    var xa = Broadcast(ref Unsafe.Add(ref x0, k));
                    d0 = TDot.Dot(d0, low, xa);
                    e0 = TDot.Dot(e0, low2, xa);
                    xa = Broadcast(ref Unsafe.Add(ref x1, k));
                    d1 = TDot.Dot(d1, low, xa);
                    e1 = TDot.Dot(e1, low2, xa);
                    xa = Broadcast(ref Unsafe.Add(ref x2, k));
                    d2 = TDot.Dot(d2, low, xa);
                    e2 = TDot.Dot(e2, low2, xa);
                    xa = Broadcast(ref Unsafe.Add(ref x3, k));
                    d3 = TDot.Dot(d3, low, xa);
                    e3 = TDot.Dot(e3, low2, xa);
                    xa = Broadcast(ref Unsafe.Add(ref x0, k + 4));
                    d0 = TDot.Dot(d0, high, xa);
                    e0 = TDot.Dot(e0, high2, xa);
                    xa = Broadcast(ref Unsafe.Add(ref x1, k + 4));
                    d1 = TDot.Dot(d1, high, xa);
                    e1 = TDot.Dot(e1, high2, xa);
                    xa = Broadcast(ref Unsafe.Add(ref x2, k + 4));
                    d2 = TDot.Dot(d2, high, xa);
                    e2 = TDot.Dot(e2, high2, xa);
                    xa = Broadcast(ref Unsafe.Add(ref x3, k + 4));
                    d3 = TDot.Dot(d3, high, xa);
                    e3 = TDot.Dot(e3, high2, xa);
                }

                d0 = TDot.Widen(d0);
                d1 = TDot.Widen(d1);
                d2 = TDot.Widen(d2);
                d3 = TDot.Widen(d3);
                e0 = TDot.Widen(e0);
                e1 = TDot.Widen(e1);
                e2 = TDot.Widen(e2);
                e3 = TDot.Widen(e3);
                if (spilled)
                {
                    d0 += pending[0];
                    d1 += pending[1];
                    d2 += pending[2];
                    d3 += pending[3];
                    e0 += pending[4];
                    e1 += pending[5];
                    e2 += pending[6];
                    e3 += pending[7];
                }

                if (o == end)
                {
                    break;
                }

                // Another run (int16 chains only): the block's int32 sums so far wait on the stack.
                pending[0] = d0;
                pending[1] = d1;
                pending[2] = d2;
                pending[3] = d3;
                pending[4] = e0;
                pending[5] = e1;
                pending[6] = e2;
                pending[7] = e3;
                spilled = true;
                d0 = d1 = d2 = d3 = e0 = e1 = e2 = e3 = default;
            }

            nint p = (nint)b * BlockQuantizedWeights.GroupColumns;
            var zeroPoint = symmetric ? Vector256.Create(middle) : Vector256.LoadUnsafe(ref zeroPoints, (nuint)p);
            var zeroPoint2 = symmetric ? Vector256.Create(middle) : Vector256.LoadUnsafe(ref zeroPoints, (nuint)(p + parameterStride));
            var scale = Vector256.LoadUnsafe(ref scales, (nuint)p);
            var scale2 = Vector256.LoadUnsafe(ref scales, (nuint)(p + parameterStride));
            Epilogue2(d0, e0, zeroPoint, zeroPoint2, scale, scale2, Unsafe.Add(ref xSums, b), Unsafe.Add(ref xScales, b), ref y);
            Epilogue2(d1, e1, zeroPoint, zeroPoint2, scale, scale2, Unsafe.Add(ref xSums, blocks + b), Unsafe.Add(ref xScales, blocks + b), ref Unsafe.Add(ref y, stride));
            Epilogue2(d2, e2, zeroPoint, zeroPoint2, scale, scale2, Unsafe.Add(ref xSums, (2 * blocks) + b), Unsafe.Add(ref xScales, (2 * blocks) + b), ref Unsafe.Add(ref y, 2 * stride));
            Epilogue2(d3, e3, zeroPoint, zeroPoint2, scale, scale2, Unsafe.Add(ref xSums, (3 * blocks) + b), Unsafe.Add(ref xScales, (3 * blocks) + b), ref Unsafe.Add(ref y, 3 * stride));
        }
    }

    /// <summary>One row's block epilogue for two groups, accumulating into the row's 16 outputs: the activation sum and
    /// scale are broadcast once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Epilogue2(Vector256<int> dot, Vector256<int> dot2, Vector256<int> zeroPoint, Vector256<int> zeroPoint2,
        Vector256<float> scale, Vector256<float> scale2, int sum, float xScale, ref float y)
    {
        var sums = Vector256.Create(sum);
        var xs = Vector256.Create(xScale);
        Epilogue(dot, zeroPoint, scale, sums, xs, Vector256.LoadUnsafe(ref y)).StoreUnsafe(ref y);
        Epilogue(dot2, zeroPoint2, scale2, sums, xs, Vector256.LoadUnsafe(ref y, BlockQuantizedWeights.GroupColumns)).StoreUnsafe(ref y, BlockQuantizedWeights.GroupColumns);
    }

    private static void Row1Pair<TCodes, TDot>(BlockActivations x, int r, BlockQuantizedWeights w, float[] result, int g)
        where TCodes : ICodes256
        where TDot : IRunDot256
    {
        int octetsPerBlock = w.BlockSize / 8, blocks = w.BlockCount, octetBytes = w.OctetBytes;
        nint groupBytes = (nint)w.Octets * octetBytes, parameterStride = (nint)blocks * BlockQuantizedWeights.GroupColumns;
        ref byte codes = ref w.Codes[(long)g * groupBytes];
        ref sbyte xr = ref x.Codes![r * x.PaddedK];
        Vector256<float> acc = default, acc2 = default;
        int run = Math.Min(octetsPerBlock, TDot.DotsPerRun); // one step per chain per octet
        nint blockBytes = (nint)octetsPerBlock * octetBytes;
        int aheadBlocks = (int)(PrefetchBytes / blockBytes);
        for (int b = 0; b < blocks; b++)
        {
            Prefetch(ref codes, b, blockBytes, aheadBlocks, w, g, groups: 2, groupBytes, parameterStride);
            Vector256<int> s0 = default, s1 = default;
            for (int o = b * octetsPerBlock, end = o + octetsPerBlock; o < end;)
            {
                Vector256<int> d0 = default, d1 = default, d2 = default, d3 = default;
                for (int runEnd = o + run; o < runEnd; o++)
                {
                    ref byte octet = ref Unsafe.Add(ref codes, (nint)o * octetBytes);
                    var (low, high) = TCodes.Load(ref octet);
                    var (low2, high2) = TCodes.Load(ref Unsafe.Add(ref octet, groupBytes));
                    ref sbyte xo = ref Unsafe.Add(ref xr, o * 8);
                    var xa = Broadcast(ref xo);
                    var xb = Broadcast(ref Unsafe.Add(ref xo, 4));
                    d0 = TDot.Dot(d0, low, xa);
                    d1 = TDot.Dot(d1, high, xb);
                    d2 = TDot.Dot(d2, low2, xa);
                    d3 = TDot.Dot(d3, high2, xb);
                }

                s0 += TDot.Widen(d0) + TDot.Widen(d1);
                s1 += TDot.Widen(d2) + TDot.Widen(d3);
            }

            int p = ((g * blocks) + b) * BlockQuantizedWeights.GroupColumns, q = (r * blocks) + b;
            acc = Epilogue(s0, ZeroPoints(w, p), Vector256.LoadUnsafe(ref w.Scales[p]), x, q, acc);
            acc2 = Epilogue(s1, ZeroPoints(w, p + (int)parameterStride), Vector256.LoadUnsafe(ref w.Scales[p + (int)parameterStride]), x, q, acc2);
        }

        int column = (r * w.Groups * BlockQuantizedWeights.GroupColumns) + (g * BlockQuantizedWeights.GroupColumns);
        acc.StoreUnsafe(ref result[column]);
        acc2.StoreUnsafe(ref result[column + BlockQuantizedWeights.GroupColumns]);
    }

    /// <summary>Prefetches the codes <see cref="PrefetchBytes"/> ahead of block b of one or two groups, and their scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch(ref byte codes, int b, nint blockBytes, int aheadBlocks, BlockQuantizedWeights w, int g, int groups, nint groupBytes, nint parameterStride)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            return;
        }

        byte* next = (byte*)Unsafe.AsPointer(ref Unsafe.Add(ref codes, (b * blockBytes) + PrefetchBytes));
        for (nint line = 0; line < blockBytes; line += 64)
        {
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(next + line);
            if (groups == 2)
            {
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(next + line + groupBytes);
            }
        }

        if ((b & 1) == 0)
        {
            // Two blocks' scales per line.
            float* scales = (float*)Unsafe.AsPointer(ref w.Scales[0]) + ((((long)g * w.BlockCount) + b + aheadBlocks) * BlockQuantizedWeights.GroupColumns);
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(scales);
            if (groups == 2)
            {
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(scales + parameterStride);
            }
        }
    }

    /// <summary>The zero points of one group and block; symmetric weights all use the middle code, so nothing is loaded
    /// (the zero-point array would otherwise be a fifth of the memory traffic of a 4-bit GEMV).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> ZeroPoints(BlockQuantizedWeights w, int p) =>
        w.IsSymmetric ? Vector256.Create(1 << (w.Bits - 1)) : Vector256.LoadUnsafe(ref w.ZeroPoints[p]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Broadcast(ref sbyte source) => Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<sbyte, byte>(ref source))).AsSByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Epilogue(Vector256<int> dot, Vector256<int> zeroPoint, Vector256<float> scale, BlockActivations x, int q, Vector256<float> acc) =>
        Epilogue(dot, zeroPoint, scale, Vector256.Create(x.Sums![q]), Vector256.Create(x.Scales![q]), acc);

    /// <summary>One block of 8 columns: <c>acc + (float)(dot − zp · Σx) · (scale_w · scale_x)</c>, fused.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Epilogue(Vector256<int> dot, Vector256<int> zeroPoint, Vector256<float> scale, Vector256<int> sums, Vector256<float> xScale,
        Vector256<float> acc) =>
        Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot - (zeroPoint * sums)), scale * xScale, acc);

    private static void Row1<TCodes, TDot>(BlockActivations x, int r, BlockQuantizedWeights w, float[] result, int g)
        where TCodes : ICodes256
        where TDot : IRunDot256
    {
        int octetsPerBlock = w.BlockSize / 8, blocks = w.BlockCount, octetBytes = w.OctetBytes;
        ref byte codes = ref w.Codes[(long)g * w.Octets * octetBytes];
        ref sbyte xr = ref x.Codes![r * x.PaddedK];
        Vector256<float> acc = default;
        // A chain takes one step per two octets; a block has an even number of octets.
        int run = (int)Math.Min(octetsPerBlock, 2L * TDot.DotsPerRun);
        for (int b = 0; b < blocks; b++)
        {
            Vector256<int> sum = default;
            for (int o = b * octetsPerBlock, end = o + octetsPerBlock; o < end;)
            {
                // Four independent chains (two octets × low/high) hide vpdpbusd's latency.
                Vector256<int> d0 = default, d1 = default, d2 = default, d3 = default;
                for (int runEnd = o + run; o < runEnd; o += 2)
                {
                    var (low, high) = TCodes.Load(ref Unsafe.Add(ref codes, (nint)o * octetBytes));
                    var (low2, high2) = TCodes.Load(ref Unsafe.Add(ref codes, (nint)(o + 1) * octetBytes));
                    ref sbyte xo = ref Unsafe.Add(ref xr, o * 8);
                    d0 = TDot.Dot(d0, low, Broadcast(ref xo));
                    d1 = TDot.Dot(d1, high, Broadcast(ref Unsafe.Add(ref xo, 4)));
                    d2 = TDot.Dot(d2, low2, Broadcast(ref Unsafe.Add(ref xo, 8)));
                    d3 = TDot.Dot(d3, high2, Broadcast(ref Unsafe.Add(ref xo, 12)));
                }

                sum += (TDot.Widen(d0) + TDot.Widen(d1)) + (TDot.Widen(d2) + TDot.Widen(d3));
            }

            int p = ((g * blocks) + b) * BlockQuantizedWeights.GroupColumns;
            acc = Epilogue(sum, ZeroPoints(w, p), Vector256.LoadUnsafe(ref w.Scales[p]), x, (r * blocks) + b, acc);
        }

        acc.StoreUnsafe(ref result[(r * w.Groups * BlockQuantizedWeights.GroupColumns) + (g * BlockQuantizedWeights.GroupColumns)]);
    }

    private static void Rows4<TCodes, TDot>(BlockActivations x, int r, BlockQuantizedWeights w, float[] result, int g)
        where TCodes : ICodes256
        where TDot : IRunDot256
    {
        int octetsPerBlock = w.BlockSize / 8, blocks = w.BlockCount, octetBytes = w.OctetBytes, kp = x.PaddedK;
        ref byte codes = ref w.Codes[(long)g * w.Octets * octetBytes];
        ref sbyte x0 = ref x.Codes![r * kp];
        ref sbyte x1 = ref Unsafe.Add(ref x0, kp);
        ref sbyte x2 = ref Unsafe.Add(ref x1, kp);
        ref sbyte x3 = ref Unsafe.Add(ref x2, kp);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int run = Math.Min(octetsPerBlock, TDot.DotsPerRun); // one step per chain per octet
        nint blockBytes = (nint)octetsPerBlock * octetBytes;
        int aheadBlocks = (int)(PrefetchBytes / blockBytes);
        for (int b = 0; b < blocks; b++)
        {
            Prefetch(ref codes, b, blockBytes, aheadBlocks, w, g, groups: 1, 0, 0);
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
            for (int o = b * octetsPerBlock, end = o + octetsPerBlock; o < end;)
            {
                // Low and high halves in separate accumulators: eight independent chains.
                Vector256<int> d0 = default, d1 = default, d2 = default, d3 = default, e0 = default, e1 = default, e2 = default, e3 = default;
                for (int runEnd = o + run; o < runEnd; o++)
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

                s0 += TDot.Widen(d0) + TDot.Widen(e0);
                s1 += TDot.Widen(d1) + TDot.Widen(e1);
                s2 += TDot.Widen(d2) + TDot.Widen(e2);
                s3 += TDot.Widen(d3) + TDot.Widen(e3);
            }

            int p = ((g * blocks) + b) * BlockQuantizedWeights.GroupColumns;
            var zeroPoint = ZeroPoints(w, p);
            var scale = Vector256.LoadUnsafe(ref w.Scales[p]);
            a0 = Epilogue(s0, zeroPoint, scale, x, (r * blocks) + b, a0);
            a1 = Epilogue(s1, zeroPoint, scale, x, ((r + 1) * blocks) + b, a1);
            a2 = Epilogue(s2, zeroPoint, scale, x, ((r + 2) * blocks) + b, a2);
            a3 = Epilogue(s3, zeroPoint, scale, x, ((r + 3) * blocks) + b, a3);
        }

        int stride = w.Groups * BlockQuantizedWeights.GroupColumns, column = g * BlockQuantizedWeights.GroupColumns;
        a0.StoreUnsafe(ref result[(r * stride) + column]);
        a1.StoreUnsafe(ref result[((r + 1) * stride) + column]);
        a2.StoreUnsafe(ref result[((r + 2) * stride) + column]);
        a3.StoreUnsafe(ref result[((r + 3) * stride) + column]);
    }
}
