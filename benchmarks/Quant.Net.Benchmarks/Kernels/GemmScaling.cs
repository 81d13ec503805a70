using System.Diagnostics;
using System.Globalization;

namespace Quant.Net.Benchmarks.Kernels;

/// <summary>
/// The two-thread scaling of each <see cref="GemmBenchmarks"/> contender, measured interleaved (`gemm MxKxN`): every round
/// times each contender on one thread (after one untimed call), then twice on two threads, so a round's ratios compare
/// calls made moments apart on the same host. Each contender starts after a 50 ms pause, so its first two-thread call
/// finds the helper threads parked (ours park 200 µs after a call, ONNX Runtime's after their own spin) and no other
/// pool's helper spinning on the second core; the second call finds its own helpers spinning: "cold" and "warm" scaling.
/// Prints the medians and the spread of the per-round ratios (10th, 50th and 90th percentiles).
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

        var times = contenders.Select(_ => (One: new double[rounds], Cold: new double[rounds], Warm: new double[rounds])).ToArray();
        for (int round = 0; round < rounds; round++)
        {
            for (int c = 0; c < contenders.Length; c++)
            {
                // Let every pool's helpers park first: a helper still spinning after another contender's call would hold
                // the second core (ONNX Runtime's spin for a while after each run).
                Thread.Sleep(50);
                contenders[c].One();
                times[c].One[round] = Time(contenders[c].One);
                times[c].Cold[round] = Time(contenders[c].Two);
                times[c].Warm[round] = Time(contenders[c].Two);
            }
        }

        Console.WriteLine($"{shape}, {rounds} interleaved rounds; scaling = 1-thread time / 2-thread time of the same round");
        for (int c = 0; c < contenders.Length; c++)
        {
            double m1 = Median(times[c].One);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{contenders[c].Label,-20} 1 thread {m1,8:F3} ms"));
            foreach (var (label, calls) in new[] { ("cold", times[c].Cold), ("warm", times[c].Warm) })
            {
                double[] ratios = times[c].One.Zip(calls, (a, b) => a / b).Order().ToArray();
                double m2 = Median(calls);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{"",-20} 2 threads, {label} {m2,8:F3} ms   medians {m1 / m2:F2}x   per round p10 {ratios[rounds / 10]:F2}x p50 {ratios[rounds / 2]:F2}x p90 {ratios[rounds - 1 - rounds / 10]:F2}x"));
            }
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
