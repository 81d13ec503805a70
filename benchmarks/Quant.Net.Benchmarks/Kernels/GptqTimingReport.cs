using System.Diagnostics;
using System.Globalization;
using Quant.Net.Kernels;

namespace Quant.Net.Benchmarks.Kernels;

/// <summary>
/// `dotnet run -c Release -- gptq-timing [K×N ...]`: wall time of one layer's int4 block-32 quantization by GPTQ and
/// SeqMSE (each given the layer's Hessian from 256 correlated input rows), with round-to-nearest as the baseline.
/// GPTQ is offline work (once per model), so this is a report of minutes, not a BenchmarkDotNet run.
/// </summary>
internal static class GptqTimingReport
{
    public static void Run(IReadOnlyList<string> shapes)
    {
        if (shapes.Count == 0)
        {
            shapes = ["1024x1024", "4096x4096", "4096x11008", "11008x4096"];
        }

        Console.WriteLine($"host: {Environment.ProcessorCount} logical CPUs, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}");
        Console.WriteLine("| K × N | RTN | SeqMSE | GPTQ | GPTQ: Hessian factor | GPTQ: columns |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var shape in shapes)
        {
            var parts = shape.Split('x');
            int k = int.Parse(parts[0], CultureInfo.InvariantCulture), n = int.Parse(parts[1], CultureInfo.InvariantCulture);
            var random = new Random(k + n);
            var w = new float[(long)n * k];
            for (long i = 0; i < w.Length; i++)
            {
                w[i] = (float)((random.NextDouble() - 0.5) * 0.04);
            }

            var h = Hessian(k, 256, random);
            var options = new BlockQuantizationOptions();
            var clock = Stopwatch.StartNew();
            BlockQuantizedWeights.Quantize(w, k, n, WeightLayout.KByN, options);
            double rtn = clock.Elapsed.TotalSeconds;
            clock.Restart();
            BlockQuantizedWeights.QuantizeSeqMse(w, k, n, WeightLayout.KByN, h, options);
            double seqMse = clock.Elapsed.TotalSeconds;
            var damped = (double[])h.Clone();
            double mean = Enumerable.Range(0, k).Average(i => h[((long)i * k) + i]);
            for (int i = 0; i < k; i++)
            {
                damped[((long)i * k) + i] += 0.01 * mean;
            }

            clock.Restart();
            GptqRounding.UpperCholeskyOfInverse(damped, k);
            double factor = clock.Elapsed.TotalSeconds;
            clock.Restart();
            BlockQuantizedWeights.QuantizeGptq(w, k, n, WeightLayout.KByN, h, options);
            double gptq = clock.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {k} × {n} | {rtn:F2} s | {seqMse:F2} s | {gptq:F1} s | {factor:F1} s | {gptq - factor:F1} s |"));
        }
    }

    /// <summary>Σ x·xᵀ over rows x = 0.7·(shared factor)·(1 + c mod 3) + noise: correlated, full rank after damping.</summary>
    private static double[] Hessian(int k, int rows, Random random)
    {
        var h = new double[(long)k * k];
        var x = new double[k];
        for (int r = 0; r < rows; r++)
        {
            double common = random.NextDouble() - 0.5;
            for (int c = 0; c < k; c++)
            {
                x[c] = (0.7 * common * (1 + (c % 3))) + (0.5 * (random.NextDouble() - 0.5));
            }

            for (int i = 0; i < k; i++)
            {
                var row = h.AsSpan((int)((long)i * k), i + 1);
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(x.AsSpan(0, i + 1), x[i], row, row);
            }
        }

        for (int i = 0; i < k; i++)
        {
            for (int j = i + 1; j < k; j++)
            {
                h[((long)i * k) + j] = h[((long)j * k) + i];
            }
        }

        return h;
    }
}
