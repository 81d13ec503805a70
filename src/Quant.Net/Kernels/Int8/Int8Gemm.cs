using Quant.Net.Simd;
using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Quant.Net.Kernels;

/// <summary>
/// Integer matrix multiplication with exact int32 accumulation:
/// <c>C[m, n] = Σ_k (A[m, k] − aZeroPoint) · (B[k, n] − bZeroPoint[n])</c>, A uint8 or int8 row-major [M, K], B packed
/// once (<see cref="PackedInt8Weights"/>). Output stages: int32, or float dequantized with
/// <c>aScale · bScale[n]</c>, plus bias and an optional clamp (ReLU, ReLU6).
/// </summary>
/// <remarks>
/// The kernel is chosen once per process (AVX-VNNI, AVX2, SSE2, AdvSimd with or without Dp, scalar); all give the same
/// bits. Zero points are corrected after the integer dot products with the packed column sums and the row sums of A,
/// in wrapping int32 arithmetic that is exact whenever the true result fits in int32, which
/// <see cref="MaxK"/> guarantees.
/// </remarks>
public static class Int8Gemm
{
    /// <summary>
    /// The largest K for which no result can overflow int32: |A − aZp| ≤ 255 and |B − bZp| ≤ 255, so
    /// |C| ≤ K · 65025 ≤ 2^31 − 1 for K ≤ 33025.
    /// </summary>
    public const int MaxK = 33025;

    /// <summary>C = (A − aZeroPoint)(B − bZeroPoint) for uint8 A, int32 output.</summary>
    /// <param name="a">A, row-major [M, K].</param>
    /// <param name="m">Rows of A, ≥ 0.</param>
    /// <param name="aZeroPoint">A's zero point, in [0, 255].</param>
    /// <param name="b">Packed B [K, N].</param>
    /// <param name="c">C, row-major [M, N].</param>
    /// <param name="maxDegreeOfParallelism">1 for the calling thread only, −1 for every core, or a limit; small problems always run on one thread.</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    public static void Multiply(ReadOnlySpan<byte> a, int m, int aZeroPoint, PackedInt8Weights b, Span<int> c, int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null)
    {
        Validate(a.Length, m, aZeroPoint, 0, 255, b, c.Length, maxDegreeOfParallelism);
        Run(false, a, m, aZeroPoint, b, c, default, default, maxDegreeOfParallelism, pool);
    }

    /// <summary>C = (A − aZeroPoint)(B − bZeroPoint) for int8 A, int32 output.</summary>
    /// <param name="a">A, row-major [M, K].</param>
    /// <param name="m">Rows of A, ≥ 0.</param>
    /// <param name="aZeroPoint">A's zero point, in [-128, 127].</param>
    /// <param name="b">Packed B [K, N].</param>
    /// <param name="c">C, row-major [M, N].</param>
    /// <param name="maxDegreeOfParallelism">1 (the default) for the calling thread only, −1 for every core, or a limit.</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    public static void Multiply(ReadOnlySpan<sbyte> a, int m, int aZeroPoint, PackedInt8Weights b, Span<int> c, int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null)
    {
        Validate(a.Length, m, aZeroPoint, -128, 127, b, c.Length, maxDegreeOfParallelism);
        Run(true, MemoryMarshal.AsBytes(a), m, aZeroPoint, b, c, default, default, maxDegreeOfParallelism, pool);
    }

    /// <summary>
    /// Dequantized float output for uint8 A: <c>C = clamp(acc · aEncoding.Scale · bScale[n] + bias[n], min, max)</c>, acc the exact
    /// int32 product. B must have been packed with scales.
    /// </summary>
    /// <param name="a">A, row-major [M, K].</param>
    /// <param name="m">Rows of A.</param>
    /// <param name="aEncoding">A's scale (finite, &gt; 0) and zero point (in [0, 255]), as A was quantized with.</param>
    /// <param name="b">Packed B with per-channel (or one) scales.</param>
    /// <param name="bias">Empty or one float per output channel.</param>
    /// <param name="c">C, row-major [M, N].</param>
    /// <param name="activation">The clamp fused into the output (<see cref="OutputClamp.None"/>, <see cref="OutputClamp.Relu"/>, …).</param>
    /// <param name="maxDegreeOfParallelism">1 (the default) for the calling thread only, −1 for every core, or a limit.</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    public static void Multiply(ReadOnlySpan<byte> a, int m, QuantParams aEncoding, PackedInt8Weights b, ReadOnlySpan<float> bias, Span<float> c,
        OutputClamp activation = default, int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null)
    {
        int aZeroPoint = aEncoding.ZeroPoint;
        Validate(a.Length, m, aZeroPoint, 0, 255, b, c.Length, maxDegreeOfParallelism);
        var stage = new FloatStage(aEncoding.Scale, b, bias, activation);
        Run(false, a, m, aZeroPoint, b, default, stage, c, maxDegreeOfParallelism, pool);
    }

    /// <summary>Dequantized float output for int8 A (see the uint8 overload).</summary>
    /// <param name="a">A, row-major [M, K].</param>
    /// <param name="m">Rows of A.</param>
    /// <param name="aEncoding">A's scale (finite, &gt; 0) and zero point (in [-128, 127]).</param>
    /// <param name="b">Packed B with per-channel (or one) scales.</param>
    /// <param name="bias">Empty or one float per output channel.</param>
    /// <param name="c">C, row-major [M, N].</param>
    /// <param name="activation">The clamp fused into the output (default: none).</param>
    /// <param name="maxDegreeOfParallelism">1 (the default) for the calling thread only, −1 for every core, or a limit.</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    public static void Multiply(ReadOnlySpan<sbyte> a, int m, QuantParams aEncoding, PackedInt8Weights b, ReadOnlySpan<float> bias, Span<float> c,
        OutputClamp activation = default, int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null)
    {
        int aZeroPoint = aEncoding.ZeroPoint;
        Validate(a.Length, m, aZeroPoint, -128, 127, b, c.Length, maxDegreeOfParallelism);
        var stage = new FloatStage(aEncoding.Scale, b, bias, activation);
        Run(true, MemoryMarshal.AsBytes(a), m, aZeroPoint, b, default, stage, c, maxDegreeOfParallelism, pool);
    }

    /// <summary>
    /// Requantized output for uint8 A, as ONNX QLinearMatMul/QLinearConv: <c>C = saturate(round_half_to_even((acc + bias[n]) ·
    /// multiplier[n]) + cZeroPoint)</c>, with <c>multiplier = aScale · bScale[n] / cScale</c> and the int32 bias quantized
    /// with scale <c>aScale · bScale[n]</c>.
    /// </summary>
    /// <typeparam name="TOut"><see cref="byte"/> or <see cref="sbyte"/>.</typeparam>
    /// <param name="a">A, row-major [M, K].</param>
    /// <param name="m">Rows of A.</param>
    /// <param name="aZeroPoint">A's zero point, in [0, 255].</param>
    /// <param name="b">Packed B.</param>
    /// <param name="bias">Empty or N int32 values.</param>
    /// <param name="multipliers">One, or one per output channel; finite and &gt; 0.</param>
    /// <param name="cZeroPoint">The output's zero point, within <typeparamref name="TOut"/>'s range.</param>
    /// <param name="c">C, row-major [M, N].</param>
    /// <param name="maxDegreeOfParallelism">1 (the default) for the calling thread only, −1 for every core, or a limit.</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    public static void Multiply<TOut>(ReadOnlySpan<byte> a, int m, int aZeroPoint, PackedInt8Weights b, ReadOnlySpan<int> bias, ReadOnlySpan<float> multipliers,
        int cZeroPoint, Span<TOut> c, int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null) where TOut : unmanaged
    {
        Validate(a.Length, m, aZeroPoint, 0, 255, b, c.Length, maxDegreeOfParallelism);
        Requantized(false, a, m, aZeroPoint, b, bias, multipliers, cZeroPoint, c, maxDegreeOfParallelism, pool);
    }

    /// <summary>Requantized output for int8 A (see the uint8 overload).</summary>
    /// <typeparam name="TOut"><see cref="byte"/> or <see cref="sbyte"/>.</typeparam>
    /// <param name="a">A, row-major [M, K].</param>
    /// <param name="m">Rows of A.</param>
    /// <param name="aZeroPoint">A's zero point, in [-128, 127].</param>
    /// <param name="b">Packed B.</param>
    /// <param name="bias">Empty or N int32 values.</param>
    /// <param name="multipliers">One, or one per output channel; finite and &gt; 0.</param>
    /// <param name="cZeroPoint">The output's zero point, within <typeparamref name="TOut"/>'s range.</param>
    /// <param name="c">C, row-major [M, N].</param>
    /// <param name="maxDegreeOfParallelism">1 (the default) for the calling thread only, −1 for every core, or a limit.</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    public static void Multiply<TOut>(ReadOnlySpan<sbyte> a, int m, int aZeroPoint, PackedInt8Weights b, ReadOnlySpan<int> bias, ReadOnlySpan<float> multipliers,
        int cZeroPoint, Span<TOut> c, int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null) where TOut : unmanaged
    {
        Validate(a.Length, m, aZeroPoint, -128, 127, b, c.Length, maxDegreeOfParallelism);
        Requantized(true, MemoryMarshal.AsBytes(a), m, aZeroPoint, b, bias, multipliers, cZeroPoint, c, maxDegreeOfParallelism, pool);
    }

    private static void Requantized<TOut>(bool aSigned, ReadOnlySpan<byte> a, int m, int aZeroPoint, PackedInt8Weights b, ReadOnlySpan<int> bias,
        ReadOnlySpan<float> multipliers, int cZeroPoint, Span<TOut> c, int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null) where TOut : unmanaged
    {
        if (typeof(TOut) != typeof(byte) && typeof(TOut) != typeof(sbyte))
            throw new NotSupportedException($"Requantized GEMM output must be byte or sbyte, not {typeof(TOut).Name}.");
        if (!bias.IsEmpty && bias.Length != b.N) throw new ArgumentException($"Bias must be empty or hold N = {b.N} values, got {bias.Length}.", nameof(bias));
        if (multipliers.Length != 1 && multipliers.Length != b.N) throw new ArgumentException($"Expected 1 or {b.N} multipliers, got {multipliers.Length}.", nameof(multipliers));
        int[] accumulators = ArrayPool<int>.Shared.Rent(m * b.N);
        try
        {
            var acc = accumulators.AsSpan(0, m * b.N);
            Run(aSigned, a, m, aZeroPoint, b, acc, default, default, maxDegreeOfParallelism, pool);
            if (!bias.IsEmpty)
            {
                for (int row = 0; row < m; row++) TensorPrimitives.Add(acc.Slice(row * b.N, b.N), bias, acc.Slice(row * b.N, b.N));
            }
            if (m > 0) QuantOps.Requantize(acc, c, multipliers, cZeroPoint);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(accumulators);
        }
    }

    private static void Validate(int aLength, int m, int aZeroPoint, int zpMin, int zpMax, PackedInt8Weights b, int cLength, int maxDegreeOfParallelism)
    {
        Parallelism.Validate(maxDegreeOfParallelism);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentOutOfRangeException.ThrowIfNegative(m);
#pragma warning disable CA2208 // the exceptions name the caller's parameters a and c, whose lengths this helper checks
        if (aLength != (long)m * b.K) throw new ArgumentException($"A must hold M·K = {(long)m * b.K} values, got {aLength}.", "a");
        if (cLength != (long)m * b.N) throw new ArgumentException($"C must hold M·N = {(long)m * b.N} values, got {cLength}.", "c");
#pragma warning restore CA2208
        if (aZeroPoint < zpMin || aZeroPoint > zpMax) throw new ArgumentOutOfRangeException(nameof(aZeroPoint), aZeroPoint, $"A's zero point must lie in [{zpMin}, {zpMax}].");
    }

    /// <summary>Float output stage: <c>clamp(acc · (aScale · bScale[n]) + bias[n])</c>, reading the caller's spans in place.</summary>
    internal readonly ref struct FloatStage
    {
        public readonly float AScale;
        public readonly ReadOnlySpan<float> BScales;
        public readonly ReadOnlySpan<float> Bias;
        public readonly float Min, Max;
        public readonly bool Active;

        public FloatStage(float aScale, PackedInt8Weights b, ReadOnlySpan<float> bias, OutputClamp activation)
        {
            QuantParams.ValidateScale(aScale, nameof(aScale));
            if (b.Scales.IsEmpty) throw new ArgumentException("Float output needs weights packed with scales.", nameof(b));
            if (!bias.IsEmpty && bias.Length != b.N) throw new ArgumentException($"Bias must be empty or hold N = {b.N} values, got {bias.Length}.", nameof(bias));
            AScale = aScale;
            BScales = b.Scales;
            Bias = bias;
            (Min, Max, Active) = (activation.Min, activation.Max, true);
        }
    }

    /// <summary>
    /// The driver; the kernel path is the one B was packed for (tests pack B for every path). A is packed once (rows
    /// shifted or widened, zero-padded to whole tiles), then blocks of columns small enough for B to stay in L2 are
    /// swept by every row tile while its A rows stay in L1.
    /// </summary>
    internal static unsafe void Run(bool aSigned, ReadOnlySpan<byte> a, int m, int aZeroPoint, PackedInt8Weights b, Span<int> c, scoped FloatStage stage, Span<float> cFloat = default, int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null)
    {
        fixed (byte* data = b.Data)
        {
            RunPanels(aSigned, a, m, aZeroPoint, b, data, b.PanelBytes, default(PackedRows), b.PanelBytes, c, stage, cFloat, maxDegreeOfParallelism, pool);
        }
    }

    /// <summary>
    /// The driver over any panel source: <paramref name="b"/> gives the path, sizes, column sums and zero points, while
    /// panel p starts at <paramref name="data"/> + p·<paramref name="panelStride"/> and its K group g
    /// <paramref name="rows"/>.Offset(g, NR·KR·element bytes) bytes further (packed panels, or a convolution's shifted
    /// phase planes, whose panels overlap). <paramref name="panelBytes"/> is what one more panel adds to the working set.
    /// </summary>
    internal static unsafe void RunPanels<TRows>(bool aSigned, ReadOnlySpan<byte> a, int m, int aZeroPoint, PackedInt8Weights b, byte* data, nint panelStride, TRows rows,
        long panelBytes, Span<int> c, scoped FloatStage stage, Span<float> cFloat, int maxDegreeOfParallelism, KernelThreadPool? pool)
        where TRows : struct, IPanelRows
    {
        if (m == 0) return;
        var tile = b.Tile;
        int k = b.K, kp = tile.PaddedK(k), width = tile.ABytes, paddedRows = (m + tile.MR - 1) / tile.MR * tile.MR;
        int shift = ShiftOf(tile, aSigned);
        bool anyWeightZeroPoint = AnyZeroPoint(b);
        byte[] aPacked = ArrayPool<byte>.Shared.Rent(paddedRows * kp * width);
        int[] rowSums = ArrayPool<int>.Shared.Rent(paddedRows);
        try
        {
            PackA(a, m, k, kp, width, aSigned, shift, paddedRows, aPacked, anyWeightZeroPoint ? rowSums : null);
            RunPacked(new PackedInt8Rows(b.Path, m, k, aPacked, rowSums, shift), aZeroPoint, b, anyWeightZeroPoint, data, panelStride, rows, panelBytes, c, stage, cFloat,
                maxDegreeOfParallelism, pool);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(aPacked);
            ArrayPool<int>.Shared.Return(rowSums);
        }
    }

    /// <summary>
    /// Packs a constant A (a convolution's weights) once for <paramref name="path"/>'s kernels: the rows as
    /// <see cref="RunPanels{TRows}(PackedInt8Rows, int, PackedInt8Weights, byte*, nint, TRows, long, Span{int}, FloatStage, Span{float}, int, KernelThreadPool?)"/>
    /// reads them, so a call neither copies nor shifts them again.
    /// </summary>
    internal static PackedInt8Rows PackRows(Int8GemmPath path, ReadOnlySpan<byte> a, bool aSigned, int m, int k)
    {
        var tile = Int8GemmTile.Of(path);
        int kp = tile.PaddedK(k), paddedRows = (m + tile.MR - 1) / tile.MR * tile.MR, shift = ShiftOf(tile, aSigned);
        var data = new byte[(long)paddedRows * kp * tile.ABytes];
        var rowSums = new int[paddedRows];
        PackA(a, m, k, kp, tile.ABytes, aSigned, shift, paddedRows, data, rowSums);
        return new PackedInt8Rows(path, m, k, data, rowSums, shift);
    }

    /// <summary>The driver with A already packed (<see cref="PackRows"/>) for <paramref name="b"/>'s path and K.</summary>
    internal static unsafe void RunPanels<TRows>(PackedInt8Rows a, int aZeroPoint, PackedInt8Weights b, byte* data, nint panelStride, TRows rows,
        long panelBytes, Span<int> c, scoped FloatStage stage, Span<float> cFloat, int maxDegreeOfParallelism, KernelThreadPool? pool)
        where TRows : struct, IPanelRows
    {
        if (a.Path != b.Path || a.K != b.K) throw new ArgumentException($"A was packed for {a.Path} with K = {a.K}; B is {b.Path} with K = {b.K}.", nameof(a));
        if (a.M == 0) return;
        RunPacked(a, aZeroPoint, b, AnyZeroPoint(b), data, panelStride, rows, panelBytes, c, stage, cFloat, maxDegreeOfParallelism, pool);
    }

    /// <summary>Shift of A's bytes to what the kernel multiplies (uint8 for VNNI, int8 for Dp); widening paths keep them.</summary>
    private static int ShiftOf(Int8GemmTile tile, bool aSigned) => tile.WideA || tile.SignedA == aSigned ? 0 : aSigned ? 128 : -128;

    private static bool AnyZeroPoint(PackedInt8Weights b)
    {
        foreach (int z in b.ZeroPoints)
        {
            if (z != 0) return true;
        }

        return false;
    }

    private static unsafe void RunPacked<TRows>(PackedInt8Rows a, int aZeroPoint, PackedInt8Weights b, bool anyWeightZeroPoint, byte* data, nint panelStride, TRows rows,
        long panelBytes, Span<int> c, scoped FloatStage stage, Span<float> cFloat, int maxDegreeOfParallelism, KernelThreadPool? pool)
        where TRows : struct, IPanelRows
    {
        var tile = b.Tile;
        int m = a.M, k = b.K, n = b.N, aStride = tile.PaddedK(k) * tile.ABytes, tiles = (m + tile.MR - 1) / tile.MR, panels = (n + tile.NR - 1) / tile.NR;
        int zp = aZeroPoint + a.Shift;
        int[] columnTerms = ArrayPool<int>.Shared.Rent(n);
        int[] accumulators = stage.Active ? ArrayPool<int>.Shared.Rent(m * n) : [];
        try
        {
            for (int col = 0; col < n; col++)
            {
                columnTerms[col] = k * zp * b.ZeroPoints[col] - zp * b.ColumnSums[col];
            }
            Span<int> target = stage.Active ? accumulators.AsSpan(0, m * n) : c;
            fixed (int* output = target)
            {
                var sweep = new Sweep<TRows>(b, data, panelStride, rows, a.Data, aStride, a.RowSums, columnTerms, m, anyWeightZeroPoint, output);
                ColumnSweep.Run(sweep, tiles, panels, panelBytes, (long)m * n * k, maxDegreeOfParallelism, pool);
            }
            if (stage.Active) ApplyFloatStage(stage, target, cFloat, n);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(columnTerms);
            if (accumulators.Length > 0) ArrayPool<int>.Shared.Return(accumulators);
        }
    }

    /// <summary>One row tile over a range of column panels (columns are independent, so the split never changes the result).</summary>
    private readonly unsafe struct Sweep<TRows>(PackedInt8Weights b, byte* data, nint panelStride, TRows panelRows, byte[] aPacked, int aStride, int[] rowSums,
        int[] columnTerms, int m, bool anyWeightZeroPoint, int* output)
        : IColumnTile
        where TRows : struct, IPanelRows
    {
        public void Run(int rowTile, int p0, int p1)
        {
            var tile = b.Tile;
            int n = b.N, kGroups = tile.PaddedK(b.K) / tile.KR;
            var target = new Span<int>(output, m * n);
            Span<int> tileBuffer = stackalloc int[tile.MR * tile.NR];
            int m0 = rowTile * tile.MR, rows = Math.Min(tile.MR, m - m0);
            ref byte aTile = ref aPacked[m0 * aStride];
            for (int p = p0; p < p1; p++)
            {
                int col0 = p * tile.NR, cols = Math.Min(tile.NR, n - col0);
                ref byte panel = ref *(data + (p * panelStride));
                if (rows == tile.MR && cols == tile.NR && !anyWeightZeroPoint && KernelInto(b.Path, ref aTile, aStride, ref panel, panelRows, kGroups,
                        ref columnTerms[col0], ref target[m0 * n + col0], n))
                {
                    continue;
                }
                if (rows <= 2 && b.Path is Int8GemmPath.AvxVnni or Int8GemmPath.Avx2 or Int8GemmPath.Avx2MaddUbs && typeof(TRows) == typeof(PackedRows))
                {
                    // Decode-sized M: one row at a time with the latency-hiding GEMV kernel.
                    for (int r = 0; r < rows; r++)
                        RowKernel(b.Path, ref Unsafe.Add(ref aTile, r * aStride), ref panel, kGroups, ref tileBuffer[r * tile.NR]);
                }
                else
                {
                    Kernel(b.Path, ref aTile, aStride, ref panel, panelRows, kGroups, ref tileBuffer[0]);
                }
                var terms = columnTerms.AsSpan(col0, cols);
                for (int r = 0; r < rows; r++)
                {
                    var source = tileBuffer.Slice(r * tile.NR, cols);
                    var destination = target.Slice((m0 + r) * n + col0, cols);
                    AddTerms(source, terms, destination);
                    if (anyWeightZeroPoint) SubtractScaled(b.ZeroPoints.Slice(col0, cols), rowSums[m0 + r], destination);
                }
            }
        }
    }

    /// <summary>destination = source + terms, vectorized.</summary>
    private static void AddTerms(ReadOnlySpan<int> source, ReadOnlySpan<int> terms, Span<int> destination)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var sv = MemoryMarshal.Cast<int, System.Numerics.Vector<int>>(source);
            var tv = MemoryMarshal.Cast<int, System.Numerics.Vector<int>>(terms);
            var dv = MemoryMarshal.Cast<int, System.Numerics.Vector<int>>(destination);
            for (int v = 0; v < sv.Length && v < tv.Length && v < dv.Length; v++) dv[v] = sv[v] + tv[v];
            i = Math.Min(sv.Length, Math.Min(tv.Length, dv.Length)) * System.Numerics.Vector<int>.Count;
        }
        for (; i < destination.Length; i++) destination[i] = source[i] + terms[i];
    }

    /// <summary>destination −= zeroPoints · rowSum (weights with non-zero zero points).</summary>
    private static void SubtractScaled(ReadOnlySpan<int> zeroPoints, int rowSum, Span<int> destination)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] -= zeroPoints[i] * rowSum;
    }

    private static void ApplyFloatStage(scoped FloatStage stage, ReadOnlySpan<int> acc, Span<float> c, int n)
    {
        for (int i = 0; i < acc.Length; i++)
        {
            int col = i % n;
            float y = acc[i] * (stage.AScale * stage.BScales[col]) + (stage.Bias.IsEmpty ? 0f : stage.Bias[col]);
            c[i] = Math.Clamp(y, stage.Min, stage.Max);
        }
    }

    /// <summary>
    /// Copies every row of A (zero rows up to a whole number of tiles, zero columns past K), shifted by xor 0x80 or
    /// widened to int16, and their row sums when weight zero points need them (null otherwise).
    /// </summary>
    private static void PackA(ReadOnlySpan<byte> a, int m, int k, int kp, int width, bool aSigned, int shift, int paddedRows, byte[] buffer, int[]? rowSums)
    {
        int stride = kp * width;
        Array.Clear(buffer, m * stride, (paddedRows - m) * stride);
        for (int r = 0; r < m; r++)
        {
            var row = a.Slice(r * k, k);
            if (width == 2)
            {
                var target = MemoryMarshal.Cast<byte, short>(buffer.AsSpan(r * stride, stride));
                if (aSigned) TensorPrimitives.ConvertChecked(MemoryMarshal.Cast<byte, sbyte>(row), target[..k]);
                else TensorPrimitives.ConvertChecked(row, target[..k]);
                target[k..].Clear();
            }
            else
            {
                var target = buffer.AsSpan(r * stride, stride);
                if (shift == 0) row.CopyTo(target);
                else TensorPrimitives.Xor(row, (byte)0x80, target[..k]); // uint8 ↔ int8: v ± 128 is v xor 0x80
                target[k..].Clear();
            }
            if (rowSums is not null) rowSums[r] = RowSum(row, aSigned) + k * shift;
        }
        if (rowSums is not null) Array.Clear(rowSums, m, paddedRows - m);
    }

    private static int RowSum(ReadOnlySpan<byte> row, bool signed)
    {
        int sum = 0;
        if (signed) foreach (sbyte v in MemoryMarshal.Cast<byte, sbyte>(row)) sum += v;
        else foreach (byte v in row) sum += v;
        return sum;
    }

    /// <summary>Full tiles on the x86 paths: the kernel adds the column terms and stores into C itself. False where a path has no such variant.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool KernelInto<TRows>(Int8GemmPath path, ref byte a, nint aStride, ref byte b, TRows rows, int kGroups, ref int terms, ref int c, nint cStride)
        where TRows : struct, IPanelRows
    {
        switch (path)
        {
            case Int8GemmPath.AvxVnni: Int8Gemm6x16c4<VnniDot>.Compute<CorrectedStore, TRows>(ref a, aStride, ref b, rows, kGroups, ref c, cStride, ref terms); return true;
            case Int8GemmPath.Avx2: Int8Gemm6x16c2Avx2.Compute<CorrectedStore, TRows>(ref a, aStride, ref b, rows, kGroups, ref c, cStride, ref terms); return true;
            case Int8GemmPath.Avx2MaddUbs: Int8Gemm6x16c4<Avx2SmallDot>.Compute<CorrectedStore, TRows>(ref a, aStride, ref b, rows, kGroups, ref c, cStride, ref terms); return true;
            default: return false;
        }
    }

    /// <summary>One row of A against one panel: the GEMV kernels of the x86 paths (16 int32 sums into <paramref name="tile"/>).</summary>
    private static void RowKernel(Int8GemmPath path, ref byte a, ref byte b, int kGroups, ref int tile)
    {
        switch (path)
        {
            case Int8GemmPath.AvxVnni: Int8Gemm1x16c4<VnniDot>.Compute(ref a, ref b, kGroups, ref tile); break;
            case Int8GemmPath.Avx2: Int8Gemm1x16c2Avx2.Compute(ref a, ref b, kGroups, ref tile); break;
            case Int8GemmPath.Avx2MaddUbs: Int8Gemm1x16c4<Avx2SmallDot>.Compute(ref a, ref b, kGroups, ref tile); break;
            default: throw new NotSupportedException(path.ToString());
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel<TRows>(Int8GemmPath path, ref byte a, nint aStride, ref byte b, TRows rows, int kGroups, ref int tile)
        where TRows : struct, IPanelRows
    {
        switch (path)
        {
            case Int8GemmPath.AvxVnni: Int8Gemm6x16c4<VnniDot>.Compute<RawTileStore, TRows>(ref a, aStride, ref b, rows, kGroups, ref tile, 16, ref tile); break;
            case Int8GemmPath.Avx2: Int8Gemm6x16c2Avx2.Compute<RawTileStore, TRows>(ref a, aStride, ref b, rows, kGroups, ref tile, 16, ref tile); break;
            case Int8GemmPath.Avx2MaddUbs: Int8Gemm6x16c4<Avx2SmallDot>.Compute<RawTileStore, TRows>(ref a, aStride, ref b, rows, kGroups, ref tile, 16, ref tile); break;
            case Int8GemmPath.Sse2: Int8Gemm4x8c2Sse2.Compute(ref a, aStride, ref b, rows, kGroups, ref tile); break;
            case Int8GemmPath.AdvSimdDp: Int8Gemm4x16c4AdvSimdDp.Compute(ref a, aStride, ref b, rows, kGroups, ref tile); break;
            case Int8GemmPath.AdvSimd: Int8Gemm4x16c1AdvSimd.Compute(ref a, aStride, ref b, rows, kGroups, ref tile); break;
            default: Int8Gemm4x16c1Scalar.Compute(ref a, aStride, ref b, rows, kGroups, ref tile); break;
        }
    }
}

/// <summary>
/// A's rows packed for one path's kernels: shifted by <paramref name="Shift"/> (xor 0x80) or widened, zero-padded to
/// whole tiles and KR groups, with the row sums (of the unshifted values plus K·shift) that weight zero points need.
/// </summary>
internal readonly record struct PackedInt8Rows(Int8GemmPath Path, int M, int K, byte[] Data, int[] RowSums, int Shift);

/// <summary>The oracle: a plain triple loop over the unpacked inputs, in 64-bit arithmetic.</summary>
internal static class Int8GemmReference
{
    public static int[] Multiply(ReadOnlySpan<byte> a, bool aSigned, int m, int k, int aZeroPoint, ReadOnlySpan<sbyte> bKByN, int n, ReadOnlySpan<int> bZeroPoints)
    {
        var c = new int[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                long sum = 0;
                for (int t = 0; t < k; t++)
                {
                    int av = aSigned ? (sbyte)a[i * k + t] : a[i * k + t];
                    sum += (long)(av - aZeroPoint) * (bKByN[t * n + j] - bZeroPoints[j]);
                }
                c[i * n + j] = checked((int)sum);
            }
        }
        return c;
    }
}
