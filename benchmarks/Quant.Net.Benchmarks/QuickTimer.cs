using System.Diagnostics;
using System.Globalization;

namespace Quant.Net.Benchmarks;

/// <summary>
/// A quick Stopwatch comparison for iterating on a kernel (the README's figures come from BenchmarkDotNet): the contenders
/// run interleaved, one call each per round, so drift of a shared host touches all of them alike; prints min and median.
/// </summary>
internal static class QuickTimer
{
    /// <param name="contenders">Labelled calls.</param>
    /// <param name="rounds">Timed calls per contender.</param>
    /// <param name="warmup">Untimed calls per contender first.</param>
    /// <param name="pauseMs">
    /// A pause before each timed call, for multi-threaded contenders: without it, one thread pool's helpers, still
    /// spinning after a call, hold the other cores while the next contender runs (ONNX Runtime's spin after each run).
    /// </param>
    public static void Run(IReadOnlyList<(string Label, Action Run)> contenders, int rounds = 41, int warmup = 5, int pauseMs = 0)
    {
        foreach (var (_, run) in contenders)
        {
            for (int i = 0; i < warmup; i++)
            {
                run();
            }
        }

        var times = contenders.Select(_ => new List<double>(rounds)).ToArray();
        for (int round = 0; round < rounds; round++)
        {
            for (int c = 0; c < contenders.Count; c++)
            {
                if (pauseMs > 0) Thread.Sleep(pauseMs);
                long t0 = Stopwatch.GetTimestamp();
                contenders[c].Run();
                times[c].Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
        }

        for (int c = 0; c < contenders.Count; c++)
        {
            times[c].Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{contenders[c].Label,-36} min {times[c][0],9:F3} ms   median {times[c][rounds / 2],9:F3} ms"));
        }
    }
}
