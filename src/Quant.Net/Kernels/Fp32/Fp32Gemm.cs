using Quant.Net.Simd;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quant.Net.Kernels;

/// <summary>
/// FP32 matrix multiplication <c>C = clamp(A · B + bias)</c> with packed B, register-blocked FMA microkernels
/// (8×32 AVX-512, 6×16 AVX2, 6×8 SSE/AdvSimd, scalar). The honest FP32 side of every int8 comparison, and the engine of
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

    /// <summary>Rows of A per tile: 8 with AVX-512's 32 registers (16 accumulators), 6 otherwise.</summary>
    internal static int RowTile(SimdLevel level) => level == SimdLevel.Vector512 ? EightRows.MR : level == SimdLevel.Scalar ? Fp32GemmTileFma.ScalarRows : SixRows.MR;

    internal static int PanelWidth(SimdLevel level) => level switch
    {
        SimdLevel.Vector512 => 32,
        SimdLevel.Vector256 => 16,
        _ => 8,
    };

    internal static unsafe void Run(ReadOnlySpan<float> a, int m, PackedFloatWeights b, ReadOnlySpan<float> bias, Span<float> c, OutputClamp activation, int maxDegreeOfParallelism = 1,
        KernelThreadPool? pool = null)
    {
        if (m == 0) return;
        var level = b.Level;
        int k = b.K, n = b.N, nr = PanelWidth(level), panels = (n + nr - 1) / nr;
        float[] paddedBias = ArrayPool<float>.Shared.Rent(panels * nr);
        try
        {
            Array.Clear(paddedBias, 0, panels * nr);
            bias.CopyTo(paddedBias);
            fixed (float* data = b.Data)
            fixed (float* input = a)
            fixed (float* output = c)
            {
                var sweep = new Sweep(level, k, n, data, (nint)k * nr, input, m, paddedBias, activation, output);
                int tiles = (m + RowTile(level) - 1) / RowTile(level);
                ColumnSweep.Run(sweep, tiles, panels, (long)k * nr * sizeof(float), (long)m * n * k, maxDegreeOfParallelism, pool);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(paddedBias);
        }
    }

    /// <summary>One row tile over a range of column panels (columns are independent).</summary>
    private readonly unsafe struct Sweep(SimdLevel level, int k, int n, float* data, nint panelStride, float* input, int m, float[] paddedBias, OutputClamp activation,
        float* output) : IColumnTile
    {
        public void Run(int rowTile, int p0, int p1)
        {
            int MR = RowTile(level), nr = PanelWidth(level);
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
                if (rows <= 2 && level != SimdLevel.Scalar)
                {
                    // Decode-sized M: one row across four whole panels at a time (GEMV), straight into C.
                    for (; p + 4 <= p1 && (p + 4) * nr <= n; p += 4)
                    {
                        for (int r = 0; r < rows; r++)
                            GemvKernel(level, ref Unsafe.Add(ref aTile, r * k), ref *(data + (p * panelStride)), k, panelStride, ref paddedBias[p * nr], activation, ref c[(m0 + r) * n + p * nr]);
                    }
                }

                for (; p < p1; p++)
                {
                    int col0 = p * nr, cols = Math.Min(nr, n - col0);
                    ref float panel = ref *(data + (p * panelStride));
                    if (rows == MR && cols == nr)
                    {
                        Kernel(level, ref aTile, new StridedRows(k), ref panel, k, nr, ref paddedBias[col0], activation, ref c[m0 * n + col0], n);
                        continue;
                    }

                    cTile ??= ArrayPool<float>.Shared.Rent(MR * nr);
                    Kernel(level, ref aTile, new StridedRows(k), ref panel, k, nr, ref paddedBias[col0], activation, ref cTile[0], nr);
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

    /// <summary>One <see cref="RowTile"/> × NR tile of the level's kernel over a packed panel, A's rows and steps from <paramref name="aRows"/>.</summary>
    internal static void Kernel<TA>(SimdLevel level, ref float a, TA aRows, ref float b, int k, int nr, ref float bias, OutputClamp clamp, ref float c, nint cStride)
        where TA : struct, IRowSteps
    {
        switch (level)
        {
            case SimdLevel.Vector512: Fp32GemmTileFma.Compute<Simd512, Vector512<float>, Vector512<int>, EightRows, TA>(ref a, aRows, ref b, k, ref bias, clamp.Min, clamp.Max, ref c, cStride); break;
            case SimdLevel.Vector256: Fp32GemmTileFma.Compute<Simd256, Vector256<float>, Vector256<int>, SixRows, TA>(ref a, aRows, ref b, k, ref bias, clamp.Min, clamp.Max, ref c, cStride); break;
            case SimdLevel.Vector128: Fp32GemmTileFma.Compute<Simd128, Vector128<float>, Vector128<int>, SixRows, TA>(ref a, aRows, ref b, k, ref bias, clamp.Min, clamp.Max, ref c, cStride); break;
            default: Fp32GemmTileFma.ComputeScalar(ref a, aRows, ref b, k, nr, ref bias, clamp.Min, clamp.Max, ref c, cStride); break;
        }
    }
}
