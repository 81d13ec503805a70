using Quant.Net.Simd;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quant.Net.Kernels;

/// <summary>
/// FP32 matrix multiplication <c>C = clamp(A · B + bias)</c> with packed B, register-blocked FMA microkernels
/// (6×32 AVX-512, 6×16 AVX2, 6×8 SSE/AdvSimd, scalar). The honest FP32 side of every int8 comparison, and the engine of
/// simulation and AdaRound. Every path performs the same FMAs in the same order, so all give the same bits.
/// </summary>
public static class Fp32Gemm
{
    /// <summary>C[M, N] = clamp(A[M, K] · B[K, N] + bias[N]).</summary>
    /// <param name="a">A, row-major [M, K].</param>
    /// <param name="m">Rows of A, ≥ 0.</param>
    /// <param name="b">Packed B.</param>
    /// <param name="bias">Empty or N values.</param>
    /// <param name="c">C, row-major [M, N].</param>
    /// <param name="activation">The clamp fused into the output (default: none).</param>
    /// <param name="maxDegreeOfParallelism">1 for the calling thread only, −1 for every core, or a limit; small problems always run on one thread.</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    public static void Multiply(ReadOnlySpan<float> a, int m, PackedFloatWeights b, ReadOnlySpan<float> bias, Span<float> c, OutputClamp activation = default, int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null)
    {
        ArgumentNullException.ThrowIfNull(b);
        Parallelism.Validate(maxDegreeOfParallelism);
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        if (a.Length != (long)m * b.K) throw new ArgumentException($"A must hold M·K = {(long)m * b.K} values, got {a.Length}.", nameof(a));
        if (c.Length != (long)m * b.N) throw new ArgumentException($"C must hold M·N = {(long)m * b.N} values, got {c.Length}.", nameof(c));
        if (!bias.IsEmpty && bias.Length != b.N) throw new ArgumentException($"Bias must be empty or hold N = {b.N} values, got {bias.Length}.", nameof(bias));
        Run(a, m, b, bias, c, activation, maxDegreeOfParallelism, pool);
    }

    internal static int PanelWidth(SimdLevel level) => level switch
    {
        SimdLevel.Vector512 => 32,
        SimdLevel.Vector256 => 16,
        _ => 8,
    };

    internal static void Run(ReadOnlySpan<float> a, int m, PackedFloatWeights b, ReadOnlySpan<float> bias, Span<float> c, OutputClamp activation, int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null) =>
        Run(a, m, b, bias, c, activation, maxDegreeOfParallelism, pool, default(PackedPanels));

    /// <summary>
    /// The driver, with <paramref name="producer"/> asked to fill each block of B's panels just before the first row tile
    /// reads it (on the thread that then sweeps it), so that B can be produced block by block while it is in cache.
    /// </summary>
    internal static unsafe void Run<TProducer>(ReadOnlySpan<float> a, int m, PackedFloatWeights b, ReadOnlySpan<float> bias, Span<float> c, OutputClamp activation,
        int maxDegreeOfParallelism, KernelThreadPool? pool, TProducer producer)
        where TProducer : IPanelProducer
    {
        if (m == 0) return;
        int n = b.N, nr = b.NR, panels = (n + nr - 1) / nr;
        float[] paddedBias = ArrayPool<float>.Shared.Rent(panels * nr);
        try
        {
            Array.Clear(paddedBias, 0, panels * nr);
            bias.CopyTo(paddedBias);
            fixed (float* input = a)
            fixed (float* output = c)
            {
                var sweep = new Sweep<TProducer>(b, input, m, paddedBias, activation, output, producer);
                int tiles = (m + Fp32Gemm6xNRFma.MR - 1) / Fp32Gemm6xNRFma.MR;
                ColumnSweep.Run(sweep, tiles, panels, (long)b.K * nr * sizeof(float), (long)m * n * b.K, maxDegreeOfParallelism, pool);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(paddedBias);
        }
    }

    /// <summary>One row tile over a range of column panels (columns are independent).</summary>
    private readonly unsafe struct Sweep<TProducer>(PackedFloatWeights b, float* input, int m, float[] paddedBias, OutputClamp activation, float* output, TProducer producer)
        : IColumnTile
        where TProducer : IPanelProducer
    {
        public void Run(int rowTile, int p0, int p1)
        {
            if (rowTile == 0) producer.Produce(p0, p1);   // ColumnSweep runs row tile 0 of a block first, on the block's thread
            const int MR = Fp32Gemm6xNRFma.MR;
            int k = b.K, n = b.N, nr = b.NR;
            var a = new ReadOnlySpan<float>(input, m * k);
            var c = new Span<float>(output, m * n);
            int m0 = rowTile * MR, rows = Math.Min(MR, m - m0);
            float[]? aTail = null, cTile = null;
            try
            {
                ref float aTile = ref Unsafe.AsRef(in a[m0 * k]);
                if (rows < MR)
                {
                    aTail = ArrayPool<float>.Shared.Rent(MR * k);
                    Array.Clear(aTail, 0, MR * k);
                    a.Slice(m0 * k, rows * k).CopyTo(aTail);
                    aTile = ref aTail[0];
                }

                int p = p0;
                if (rows <= 2 && b.Level != SimdLevel.Scalar)
                {
                    // Decode-sized M: one row across four whole panels at a time (GEMV), straight into C.
                    for (; p + 4 <= p1 && (p + 4) * nr <= n; p += 4)
                    {
                        for (int r = 0; r < rows; r++)
                            GemvKernel(b.Level, ref Unsafe.Add(ref aTile, r * k), ref b.Data[(long)p * k * nr], k, (nint)k * nr, ref paddedBias[p * nr], activation, ref c[(m0 + r) * n + p * nr]);
                    }
                }

                for (; p < p1; p++)
                {
                    int col0 = p * nr, cols = Math.Min(nr, n - col0);
                    bool direct = rows == MR && cols == nr;
                    if (direct)
                    {
                        Kernel(b.Level, ref aTile, k, ref b.Data[(long)p * k * nr], k, nr, ref paddedBias[col0], activation, ref c[m0 * n + col0], n);
                        continue;
                    }

                    cTile ??= ArrayPool<float>.Shared.Rent(MR * nr);
                    Kernel(b.Level, ref aTile, k, ref b.Data[(long)p * k * nr], k, nr, ref paddedBias[col0], activation, ref cTile[0], nr);
                    for (int r = 0; r < rows; r++) cTile.AsSpan(r * nr, cols).CopyTo(c.Slice((m0 + r) * n + col0, cols));
                }
            }
            finally
            {
                if (aTail is not null) ArrayPool<float>.Shared.Return(aTail);
                if (cTile is not null) ArrayPool<float>.Shared.Return(cTile);
            }
        }
    }

    private static void GemvKernel(SimdLevel level, ref float a, ref float b, int k, nint panelStride, ref float bias, OutputClamp clamp, ref float c)
    {
        switch (level)
        {
            case SimdLevel.Vector512: Fp32Gemm1x4NRFma.Compute<Simd512, Vector512<float>, Vector512<int>>(ref a, ref b, k, panelStride, ref bias, clamp.Min, clamp.Max, ref c); break;
            case SimdLevel.Vector256: Fp32Gemm1x4NRFma.Compute<Simd256, Vector256<float>, Vector256<int>>(ref a, ref b, k, panelStride, ref bias, clamp.Min, clamp.Max, ref c); break;
            default: Fp32Gemm1x4NRFma.Compute<Simd128, Vector128<float>, Vector128<int>>(ref a, ref b, k, panelStride, ref bias, clamp.Min, clamp.Max, ref c); break;
        }
    }

    private static void Kernel(SimdLevel level, ref float a, nint aStride, ref float b, int k, int nr, ref float bias, OutputClamp clamp, ref float c, nint cStride)
    {
        switch (level)
        {
            case SimdLevel.Vector512: Fp32Gemm6xNRFma.Compute<Simd512, Vector512<float>, Vector512<int>>(ref a, aStride, ref b, k, ref bias, clamp.Min, clamp.Max, ref c, cStride); break;
            case SimdLevel.Vector256: Fp32Gemm6xNRFma.Compute<Simd256, Vector256<float>, Vector256<int>>(ref a, aStride, ref b, k, ref bias, clamp.Min, clamp.Max, ref c, cStride); break;
            case SimdLevel.Vector128: Fp32Gemm6xNRFma.Compute<Simd128, Vector128<float>, Vector128<int>>(ref a, aStride, ref b, k, ref bias, clamp.Min, clamp.Max, ref c, cStride); break;
            default: Fp32Gemm6xNRFma.ComputeScalar(ref a, aStride, ref b, k, nr, ref bias, clamp.Min, clamp.Max, ref c, cStride); break;
        }
    }
}

/// <summary>Fills the panels [start, end) of a GEMM's B before they are read (see <see cref="Fp32Gemm"/>'s driver).</summary>
internal interface IPanelProducer
{
    void Produce(int panelStart, int panelEnd);
}

/// <summary>B is already packed: nothing to produce.</summary>
internal readonly struct PackedPanels : IPanelProducer
{
    public void Produce(int panelStart, int panelEnd)
    {
    }
}
