namespace Quant.Net.Kernels;

/// <summary>How the GEMM drivers split work over threads: contiguous ranges of column panels, one per thread.</summary>
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

    /// <summary>Runs <paramref name="body"/>(start, end) over <paramref name="threads"/> contiguous ranges of [0, count).</summary>
    public static void ForEachRange(int count, int threads, Action<int, int> body) =>
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
            body((int)((long)count * i / threads), (int)((long)count * (i + 1) / threads)));
}
