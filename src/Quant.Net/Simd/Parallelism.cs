namespace Quant.Net.Simd;

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

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over contiguous ranges of [0, count) on the calling thread plus
    /// <paramref name="threads"/> − 1 pool tasks that all take ranges from a shared counter until none is left: a helper
    /// that starts late (measured here: up to milliseconds on a busy two-core machine) still takes its share of what
    /// remains, instead of a static split waiting for it or the caller doing everything. Every range is computed the
    /// same way whoever runs it, so results do not depend on the schedule.
    /// </summary>
    public static void ForEachRange(int count, int threads, Action<int, int> body)
    {
        int chunks = Math.Min(count, threads * 8), next = -1;
        var tasks = new Task[threads - 1];
        for (int i = 0; i < tasks.Length; i++)
            tasks[i] = Task.Factory.StartNew(Work, CancellationToken.None, TaskCreationOptions.None, TaskScheduler.Default);
        Work();
        Task.WaitAll(tasks);

        void Work()
        {
            int chunk;
            while ((chunk = Interlocked.Increment(ref next)) < chunks)
                body((int)((long)count * chunk / chunks), (int)((long)count * (chunk + 1) / chunks));
        }
    }
}
