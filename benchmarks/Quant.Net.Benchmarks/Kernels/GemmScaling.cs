using System.Diagnostics;
using System.Globalization;

namespace Quant.Net.Benchmarks.Kernels;

/// <summary>
/// The two-thread scaling of each <see cref="GemmBenchmarks"/> contender, measured interleaved (`gemm MxKxN`): every round
/// times each contender once on one thread and once on two, so a round's ratio compares calls made moments apart on the
/// same host. Prints the medians and the spread of the per-round ratios (10th, 50th and 90th percentiles).
/// </summary>
internal static class GemmScaling
{
    public static void Run(string shape, int rounds = 61, int warmup = 5)
    {
        var one = new GemmBenchmarks { Shape = shape, Threads = 1 };
        var two = new GemmBenchmarks { Shape = shape, Threads = 2 };
        one.Setup();
        two.Setup();
        (string Label, Action One, Action Two)[] contenders =
        [
            ("Quant.Net int8", one.OursInt8, two.OursInt8),
            ("ORT MatMulInteger", one.OrtInt8, two.OrtInt8),
            ("Quant.Net FP32", one.OursFp32, two.OursFp32),
            ("ORT FP32 MatMul", one.OrtFloat, two.OrtFloat),
        ];
        foreach (var (_, a, b) in contenders)
        {
            for (int i = 0; i < warmup; i++)
            {
                a();
                b();
            }
        }

        var times = contenders.Select(_ => (One: new double[rounds], Two: new double[rounds])).ToArray();
        for (int round = 0; round < rounds; round++)
        {
            for (int c = 0; c < contenders.Length; c++)
            {
                times[c].One[round] = Time(contenders[c].One);
                times[c].Two[round] = Time(contenders[c].Two);
            }
        }

        Console.WriteLine($"{shape}, {rounds} interleaved rounds; scaling = 1-thread time / 2-thread time of the same round");
        for (int c = 0; c < contenders.Length; c++)
        {
            double[] ratios = times[c].One.Zip(times[c].Two, (a, b) => a / b).Order().ToArray();
            double m1 = Median(times[c].One), m2 = Median(times[c].Two);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{contenders[c].Label,-20} 1 thread {m1,8:F3} ms   2 threads {m2,8:F3} ms   medians {m1 / m2:F2}x   per round p10 {ratios[rounds / 10]:F2}x p50 {ratios[rounds / 2]:F2}x p90 {ratios[rounds - 1 - rounds / 10]:F2}x"));
        }

        one.Cleanup();
        two.Cleanup();
    }

    private static double Time(Action run)
    {
        long t0 = Stopwatch.GetTimestamp();
        run();
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    private static double Median(double[] values) => values.Order().ElementAt(values.Length / 2);
}
