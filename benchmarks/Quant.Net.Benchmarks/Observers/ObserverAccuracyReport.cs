using System.Diagnostics;
using System.Globalization;
using Quant.Net.Observers;

namespace Quant.Net.Benchmarks.Observers;

/// <summary>
/// Prints the README's observer accuracy table: quantization MSE and SQNR of each observer's per-tensor encoding on
/// heavy-tailed data at 8 and 4 bits (asymmetric), plus the time each observer takes to compute its range.
/// Run: <c>dotnet run -c Release --project benchmarks/Quant.Net.Benchmarks -- observer-accuracy</c>.
/// </summary>
internal static class ObserverAccuracyReport
{
    public static void Run()
    {
        const int n = 1 << 20;
        var distributions = new (string Name, float[] Data)[]
        {
            ("Laplace(b=1)", Laplace(n, 1)),
            ("Student-t(ν=3)", StudentT(n, 2)),
            ("ReLU(N(0.3,1))", Gaussian(n, 3, 0.3).Select(v => Math.Max(v, 0f)).ToArray()),
            ("N(0,1) + 0.01% outliers ×30", Outliers(n, 4)),
        };
        var observers = new (string Name, Func<Observer> Create)[]
        {
            ("MinMax", () => new MinMaxObserver()),
            ("Percentile 99.99", () => new PercentileObserver()),
            ("Entropy (KL)", () => new EntropyObserver()),
            ("SQNR (AIMET, γ=3)", () => new SqnrObserver()),
            ("MSE (ours)", () => new HistogramMseObserver()),
        };
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"{n:N0} samples per distribution; asymmetric per-tensor schemes; SQNR in dB (higher is better), MSE in parentheses.");
        Console.WriteLine();
        Console.WriteLine("| distribution | bits | " + string.Join(" | ", observers.Select(o => o.Name)) + " |");
        Console.WriteLine("| --- | ---: |" + string.Concat(observers.Select(_ => " ---: |")));
        var rangeTimes = new Dictionary<string, List<double>>();
        foreach (var (name, data) in distributions)
        {
            foreach (int bits in new[] { 8, 4 })
            {
                var scheme = new QuantScheme(bits, false, false);
                var cells = new List<string>();
                foreach (var (oname, create) in observers)
                {
                    var o = create();
                    o.Observe(data);
                    var watch = Stopwatch.StartNew();
                    var encoding = o.ComputeEncoding(scheme);
                    watch.Stop();
                    (rangeTimes.TryGetValue(oname, out var list) ? list : rangeTimes[oname] = []).Add(watch.Elapsed.TotalMilliseconds);
                    var fake = new float[data.Length];
                    QuantOps.FakeQuantize(data, fake, encoding[0]);
                    double sqnr = ErrorMetrics.SqnrDecibels(data, fake), mse = ErrorMetrics.MeanSquaredError(data, fake);
                    cells.Add(string.Create(inv, $"{sqnr:F2} ({mse:G3})"));
                }
                int best = cells.Select((c, i) => (double.Parse(c.Split(' ')[0], inv), i)).Max().Item2;
                cells[best] = "**" + cells[best] + "**";
                Console.WriteLine($"| {name} | {bits} | " + string.Join(" | ", cells) + " |");
            }
        }
        Console.WriteLine();
        Console.WriteLine("Median time to compute one range from its statistics (ms): " +
            string.Join(", ", rangeTimes.Select(kv => string.Create(inv, $"{kv.Key} {kv.Value.Order().ElementAt(kv.Value.Count / 2):F2}"))));
    }

    private static double Normal(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    private static float[] Gaussian(int n, int seed, double mean = 0)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(mean + Normal(r))).ToArray();
    }

    private static float[] Laplace(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => { double u = r.NextDouble() - 0.5; return (float)(-Math.Sign(u) * Math.Log(1 - 2 * Math.Abs(u))); }).ToArray();
    }

    private static float[] StudentT(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ =>
        {
            double chi2 = 0;
            for (int k = 0; k < 3; k++) { double z = Normal(r); chi2 += z * z; }
            return (float)(Normal(r) / Math.Sqrt(chi2 / 3));
        }).ToArray();
    }

    private static float[] Outliers(int n, int seed)
    {
        var r = new Random(seed + 100);
        float[] x = Gaussian(n, seed);
        for (int i = 0; i < n / 10_000; i++) x[r.Next(n)] *= 30;
        return x;
    }
}
