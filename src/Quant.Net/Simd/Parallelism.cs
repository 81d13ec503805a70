namespace Quant.Net.Simd;

/// <summary>How many threads a GEMM driver uses (the ranges run on a <see cref="Kernels.KernelThreadPool"/>).</summary>
internal static class Parallelism
{
    /// <summary>Below this many multiply-adds a second thread costs more than it saves.</summary>
    private const long MinimumWorkPerThread = 1L << 21;

    public static void Validate(int maxDegreeOfParallelism)
    {
        if (maxDegreeOfParallelism == 0 || maxDegreeOfParallelism < -1)
            throw new ArgumentOutOfRangeException(nameof(maxDegreeOfParallelism), maxDegreeOfParallelism, "Use 1 for the calling thread, −1 for every core, or a positive limit.");
    }

    public static int Threads(int maxDegreeOfParallelism, long work, int panels)
    {
        int limit = maxDegreeOfParallelism == -1 ? Environment.ProcessorCount : maxDegreeOfParallelism;
        long byWork = Math.Max(1, work / MinimumWorkPerThread);
        return (int)Math.Max(1, Math.Min(Math.Min(limit, byWork), panels));
    }
}
