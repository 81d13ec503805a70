using System.Diagnostics;
using System.Globalization;
using Quant.Net.Onnx;

namespace Quant.Net.Benchmarks.Onnx;

/// <summary>
/// `dotnet run -c Release -- analysis-report [fashion|resnet] [OUT]`: <see cref="QuantAnalyzer"/> at W4A8 per-channel on
/// the shipped Fashion-MNIST CNN (top-1 on 2,000 test images) or ResNet-18 (feature cosine on held-out crops), the
/// summary printed and the HTML/PNG/JSON report written to OUT.
/// </summary>
internal static class AnalysisReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Run(string which, string output)
    {
        var sw = Stopwatch.StartNew();
        OnnxModel model;
        ICalibrationDataSource calibration;
        ModelScore score;
        if (which == "fashion")
        {
            model = Quant.Net.Cli.DefaultModel.Load();
            var (train, _) = RealModels.FashionMnist(train: true, count: 1000);
            var (test, labels) = RealModels.FashionMnist(train: false, count: 2000);
            calibration = InMemoryCalibrationData.ForSingleInput("image", train);
            score = ModelScore.Top1Accuracy(test, [.. labels.Select(l => (int)l)], 500);
        }
        else
        {
            model = OnnxModel.Load(RealModels.ResNet18Path);
            var (calibrationImages, evaluationImages) = RealModels.ResNetInputs();
            string input = model.Inputs[0].Name;
            calibration = InMemoryCalibrationData.ForSingleInput(input, calibrationImages);
            score = ModelScore.CosineToFp32(model, InMemoryCalibrationData.ForSingleInput(input, evaluationImages));
        }

        var analysis = QuantAnalyzer.Analyze(model, calibration, score, new QuantizationConfig { Weights = WeightType.Int4 });
        Console.WriteLine($"{which}: {analysis.Groups.Count} quantizer groups, {2 * analysis.Groups.Count + 4} variants scored in {sw.Elapsed.TotalSeconds.ToString("F0", Inv)} s ({analysis.ScoreName})");
        Console.WriteLine("| quantized (W4A8 per-channel) | score |");
        Console.WriteLine("| --- | ---: |");
        foreach (var (label, s) in new[] { ("FP32", analysis.Fp32Score), ("weights only", analysis.WeightOnlyScore), ("activations only", analysis.ActivationOnlyScore), ("all", analysis.QuantizedScore) })
        {
            Console.WriteLine($"| {label} | {s.ToString("F4", Inv)} |");
        }

        Console.WriteLine("most sensitive groups (score with only this group quantized): " + string.Join(", ",
            analysis.Groups.OrderBy(g => g.EnabledAloneScore).Take(5).Select(g => $"{g.Node} ({g.OpType}) {g.EnabledAloneScore.ToString("F4", Inv)}")));
        var files = Quant.Net.Reports.QuantReports.WriteAnalysis(analysis, output);
        Console.WriteLine($"report: {files.Count} files in {output}");
    }
}
