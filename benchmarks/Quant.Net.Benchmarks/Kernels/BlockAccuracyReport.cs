using System.Globalization;
using Quant.Net.Kernels;

namespace Quant.Net.Benchmarks.Kernels;

/// <summary>
/// `dotnet run -c Release -- block-accuracy`: weight-quantization SQNR of int4/int8 blocks, round-to-nearest against
/// the MSE block search, on Gaussian and heavy-tailed (Student-t, ν = 3) 4096×4096 weights.
/// </summary>
internal static class BlockAccuracyReport
{
    public static void Run()
    {
        const int n = 4096, k = 4096;
        var random = new Random(5);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var gaussian = new float[n * k];
        var studentT = new float[n * k];
        for (int i = 0; i < gaussian.Length; i++)
        {
            gaussian[i] = (float)(0.02 * Normal());
            double z1 = Normal(), z2 = Normal(), z3 = Normal();
            double chi2 = (z1 * z1) + (z2 * z2) + (z3 * z3);
            studentT[i] = (float)(0.02 * Normal() / Math.Sqrt(chi2 / 3));
        }

        Console.WriteLine("| weights | bits | block | symmetric | nearest SQNR dB | MSE search SQNR dB | gain dB |");
        Console.WriteLine("| --- | ---: | ---: | --- | ---: | ---: | ---: |");
        foreach (var (name, data) in new[] { ("Gaussian", gaussian), ("Student-t ν=3", studentT) })
        {
            foreach (var (bits, block) in new[] { (4, 32), (4, 128), (8, 32) })
            {
                foreach (bool symmetric in new[] { true, false })
                {
                    double Sqnr(BlockRounding rounding) => ErrorMetrics.SqnrDecibels(data, BlockQuantizedWeights.Quantize(data, k, n, WeightLayout.NByK,
                        new BlockQuantizationOptions { Bits = bits, BlockSize = block, Symmetric = symmetric, Rounding = rounding }).Dequantize());
                    double nearest = Sqnr(BlockRounding.Nearest), searched = Sqnr(BlockRounding.MseSearch);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {name} | {bits} | {block} | {(symmetric ? "yes" : "no")} | {nearest:F2} | {searched:F2} | {searched - nearest:+0.00;-0.00} |"));
                }
            }
        }
    }
}
