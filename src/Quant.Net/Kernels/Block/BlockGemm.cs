using Quant.Net.Simd;
using System.Buffers;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Quant.Net.Kernels;

/// <summary>
/// y[M, N] = x[M, K] · W̃ᵀ (+ bias) for block-quantized W (<see cref="BlockQuantizedWeights"/>): the decode-time GEMV
/// (M = 1) and small-M GEMM of weight-only quantized LLM layers. Threads split the output columns in groups of 8.
/// </summary>
public static class BlockGemm
{
    /// <summary>Computes y = x · W̃ᵀ + bias.</summary>
    /// <param name="x">Activations [m, K], row-major.</param>
    /// <param name="m">Rows of x (1 for decoding; any positive number, best up to 16).</param>
    /// <param name="weights">The packed block-quantized weights.</param>
    /// <param name="bias">N biases, or empty.</param>
    /// <param name="y">Output [m, N].</param>
    /// <param name="mode">Float or int8 activations.</param>
    /// <param name="maxDegreeOfParallelism">1 for the calling thread only, −1 for every core, or a limit.</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    /// <exception cref="ArgumentException">A span length does not match the shapes.</exception>
    public static void Multiply(ReadOnlySpan<float> x, int m, BlockQuantizedWeights weights, ReadOnlySpan<float> bias, Span<float> y,
        BlockGemmMode mode, int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null) =>
        Multiply(x, m, weights, bias, y, mode, maxDegreeOfParallelism, IsaConfig.Best.BlockGemm, IsaConfig.Best.Elementwise, pool);

    internal static void Multiply(ReadOnlySpan<float> x, int m, BlockQuantizedWeights weights, ReadOnlySpan<float> bias, Span<float> y,
        BlockGemmMode mode, int maxDegreeOfParallelism, BlockGemmPath path, SimdLevel level, KernelThreadPool? pool = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfLessThan(m, 1);
        Parallelism.Validate(maxDegreeOfParallelism);
        int n = weights.N, k = weights.K;
        if (x.Length != (long)m * k)
        {
            throw new ArgumentException($"x must hold m × K = {(long)m * k} values; it has {x.Length}.", nameof(x));
        }

        if (y.Length != (long)m * n)
        {
            throw new ArgumentException($"y must hold m × N = {(long)m * n} values; it has {y.Length}.", nameof(y));
        }

        if (bias.Length != 0 && bias.Length != n)
        {
            throw new ArgumentException($"bias must be empty or hold N = {n} values; it has {bias.Length}.", nameof(bias));
        }

        int kp = weights.BlockCount * weights.BlockSize;
        int rowsPerPass = Math.Min(m, BlockGemmKernels.MaxRows);
        var floats = ArrayPool<float>.Shared;
        float[] padded = floats.Rent(m * kp);
        float[] result = floats.Rent(m * weights.Groups * BlockQuantizedWeights.GroupColumns);
        sbyte[]? xq = null;
        float[]? xScales = null;
        int[]? xSums = null;
        try
        {
            Array.Clear(padded, 0, m * kp);
            for (int r = 0; r < m; r++)
            {
                x.Slice(r * k, k).CopyTo(padded.AsSpan(r * kp, k));
            }

            var activations = new BlockActivations(padded, kp, null, null, null);
            if (mode == BlockGemmMode.Int8Activations)
            {
                xq = ArrayPool<sbyte>.Shared.Rent(m * kp);
                xScales = floats.Rent(m * weights.BlockCount);
                xSums = ArrayPool<int>.Shared.Rent(m * weights.BlockCount);
                BlockGemmKernels.QuantizeActivations(padded, m, kp, weights.BlockSize, xq, xScales, xSums);
                activations = new BlockActivations(padded, kp, xq, xScales, xSums);
            }

            int groups = weights.Groups;
            var job = new BlockGemmJob(activations, m, rowsPerPass, weights, result, mode, path, level);
            ColumnSweep.Run(job, (m + rowsPerPass - 1) / rowsPerPass, groups, panelBytes: 0, (long)m * n * k, maxDegreeOfParallelism, pool);

            int stride = groups * BlockQuantizedWeights.GroupColumns;
            for (int r = 0; r < m; r++)
            {
                var row = result.AsSpan(r * stride, n);
                var target = y.Slice(r * n, n);
                if (bias.IsEmpty)
                {
                    row.CopyTo(target);
                }
                else
                {
                    System.Numerics.Tensors.TensorPrimitives.Add(row, bias, target);
                }
            }
        }
        finally
        {
            floats.Return(padded);
            floats.Return(result);
            if (xq is not null)
            {
                ArrayPool<sbyte>.Shared.Return(xq);
                floats.Return(xScales!);
                ArrayPool<int>.Shared.Return(xSums!);
            }
        }
    }

    /// <summary>A pass of up to <c>rowsPerPass</c> rows over a range of column groups (no column blocking: B is read once per pass).</summary>
    private readonly struct BlockGemmJob(BlockActivations activations, int m, int rowsPerPass, BlockQuantizedWeights weights, float[] result,
        BlockGemmMode mode, BlockGemmPath path, SimdLevel level) : IColumnTile
    {
        public void Run(int rowTile, int firstGroup, int endGroup)
        {
            int r0 = rowTile * rowsPerPass, rows = Math.Min(rowsPerPass, m - r0);
            if (mode == BlockGemmMode.Int8Activations)
            {
                BlockGemmKernels.IntegerGroups(activations, r0, rows, weights, result, firstGroup, endGroup, path);
            }
            else
            {
                BlockGemmKernels.FloatGroups(activations, r0, rows, weights, result, firstGroup, endGroup, level);
            }
        }
    }
}

/// <summary>Activations of one call: padded float rows and, in integer mode, their per-block int8 codes, scales and code sums.</summary>
internal readonly record struct BlockActivations(float[] Padded, int PaddedK, sbyte[]? Codes, float[]? Scales, int[]? Sums);
