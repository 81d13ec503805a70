using System.Diagnostics;
using System.Globalization;
using Quant.Net.Onnx;
using Quant.Net.Rounding;

namespace Quant.Net.Benchmarks.Onnx;

/// <summary>
/// `dotnet run -c Release -- ptq-report`: what AdaRound and cross-layer equalization buy on real data. Fashion-MNIST:
/// the shipped CNN at W8A8 / W4A8 / W3A8, per-tensor and per-channel weights, nearest against AdaRound (AIMET's default
/// settings), accuracy on the full 10k test set; calibration and AdaRound on the first 1000 training images.
/// </summary>
internal static class PtqTechniquesReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Run()
    {
        var model = Quant.Net.Cli.DefaultModel.Load();
        var (train, _) = RealModels.FashionMnist(train: true, count: 1000);
        var (test, labels) = RealModels.FashionMnist(train: false);
        var calibration = InMemoryCalibrationData.ForSingleInput("image", train);
        int[] labelInts = [.. labels.Select(l => (int)l)];
        double fp32 = ModelComparer.Top1Accuracy(model, test, labelInts, 500);
        Console.WriteLine($"Fashion-MNIST CNN, full test set; FP32 {fp32.ToString("F2", Inv)}%");
        Console.WriteLine("| weights | granularity | rounding | top-1 | Δ vs FP32 | time |");
        Console.WriteLine("| --- | --- | --- | ---: | ---: | ---: |");
        foreach (var (bits, weights) in new[] { (8, WeightType.Int8), (4, WeightType.Int4), (3, WeightType.Int3) })
        {
            foreach (bool perChannel in new[] { false, true })
            {
                foreach (bool adaRound in bits == 8 ? new[] { false } : new[] { false, true })
                {
                    var config = new QuantizationConfig { Weights = weights, PerChannelWeights = perChannel, AdaRound = adaRound ? new AdaRoundOptions() : null };
                    var sw = Stopwatch.StartNew();
                    var result = OnnxQuantizer.Quantize(model, calibration, config);
                    double accuracy = ModelComparer.Top1Accuracy(result.Model, test, labelInts, 500);
                    Console.WriteLine($"| W{bits}A8 | {(perChannel ? "per-channel" : "per-tensor")} | {(adaRound ? "AdaRound" : "nearest")} | {accuracy.ToString("F2", Inv)}% | {(accuracy - fp32).ToString("+0.00;-0.00", Inv)} pt | {sw.Elapsed.TotalSeconds.ToString("F0", Inv)} s |");
                }
            }
        }
    }
}
