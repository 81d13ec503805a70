using System.Diagnostics;
using System.Globalization;
using Quant.Net.Onnx;

namespace Quant.Net.Benchmarks.Onnx;

/// <summary>
/// `dotnet run -c Release -- mixed-precision-report [fashion|resnet] [OUT]`: the Pareto table of uniform W8A8, uniform
/// W4A8 and the mixed plan the search finds under the issue's budget, and the HTML/PNG/JSON report in OUT.
/// Fashion-MNIST: calibration on the first 1,000 training images, the search scored on the first 5,000 test images
/// (top-1 %, budget 0.5 points; training images are no guide, the model fits them at 98%), the table measured on the
/// other 5,000 test images (held out from the search) and on all 10,000. ResNet-18: calibration and scoring on
/// disjoint crops of scikit-image's photographs (feature cosine to FP32, budget: cosine ≥ 0.99), checked again on
/// crops drawn with another seed.
/// </summary>
internal static class MixedPrecisionReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Run(string which, string output)
    {
        var sw = Stopwatch.StartNew();
        var options = new MixedPrecisionOptions();
        if (which == "fashion")
        {
            var model = Quant.Net.Cli.DefaultModel.Load();
            var (train, _) = RealModels.FashionMnist(train: true, count: 1000);
            var (test, testLabels) = RealModels.FashionMnist(train: false);
            int[] labels = [.. testLabels.Select(l => (int)l)];
            var calibration = InMemoryCalibrationData.ForSingleInput("image", train);
            var search = ModelScore.Top1Accuracy([.. test.Take(5000)], [.. labels.Take(5000)], 500);
            var result = MixedPrecision.Search(model, calibration, search, options with { AllowedDrop = 0.5 });
            Print(result, sw.Elapsed, output);
            var heldOut = ModelScore.Top1Accuracy([.. test.Skip(5000)], [.. labels.Skip(5000)], 500);
            var testScore = ModelScore.Top1Accuracy(test, labels, 500);
            double fp32 = testScore.Evaluate(model), fp32HeldOut = heldOut.Evaluate(model);
            Console.WriteLine();
            Console.WriteLine($"Test images the search did not see (5,000; FP32 {fp32HeldOut.ToString("F2", Inv)}%) and the full 10k test set (FP32 {fp32.ToString("F2", Inv)}%):");
            Console.WriteLine("| model | bytes | BitOps/sample | top-1 (held-out 5k) | top-1 (10k) | Δ vs FP32 (10k) | within 0.5 pt |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
            foreach (var (label, config) in new[]
            {
                ("uniform W8A8", new QuantizationConfig()),
                ("uniform W4A8", new QuantizationConfig { Weights = WeightType.Int4 }),
                ("mixed plan", result.Config),
            })
            {
                var q = OnnxQuantizer.Quantize(model, calibration, config);
                double accuracy = testScore.Evaluate(q.Model), held = heldOut.Evaluate(q.Model);
                double bitOps = label switch
                {
                    "uniform W8A8" => result.Uniform.First(u => u.Label == "uniform W8A8").BitOps,
                    "uniform W4A8" => result.Uniform.First(u => u.Label == "uniform W4A8").BitOps,
                    _ => result.Final.BitOps,
                };
                Console.WriteLine($"| {label} | {q.Model.SerializedBytes:N0} | {bitOps.ToString("G3", Inv)} | {held.ToString("F2", Inv)}% | {accuracy.ToString("F2", Inv)}% | {(accuracy - fp32).ToString("+0.00;-0.00", Inv)} | {(accuracy >= fp32 - 0.5 ? "yes" : "no")} |");
            }
        }
        else
        {
            var model = OnnxModel.Load(RealModels.ResNet18Path);
            var (calibrationImages, evaluationImages) = RealModels.ResNetInputs();
            string input = model.Inputs[0].Name;
            var calibration = InMemoryCalibrationData.ForSingleInput(input, calibrationImages);
            var score = ModelScore.CosineToFp32(model, InMemoryCalibrationData.ForSingleInput(input, evaluationImages));
            var result = MixedPrecision.Search(model, calibration, score, options with { AllowedDrop = 0.01 });
            Print(result, sw.Elapsed, output);
            var (_, otherCrops) = RealModels.ResNetInputs(seed: 7);
            var heldOut = ModelScore.CosineToFp32(model, InMemoryCalibrationData.ForSingleInput(input, otherCrops));
            Console.WriteLine();
            Console.WriteLine($"Held out: {otherCrops.Count} other crops (another seed) the search did not score:");
            Console.WriteLine("| model | bytes | feature cosine (search crops) | feature cosine (held-out crops) | within 0.99 (held out) |");
            Console.WriteLine("| --- | ---: | ---: | ---: | --- |");
            foreach (var (label, config) in new[]
            {
                ("uniform W8A8", new QuantizationConfig()),
                ("uniform W4A8", new QuantizationConfig { Weights = WeightType.Int4 }),
                ("mixed plan", result.Config),
            })
            {
                var q = OnnxQuantizer.Quantize(model, calibration, config);
                double s = score.Evaluate(q.Model), h = heldOut.Evaluate(q.Model);
                Console.WriteLine($"| {label} | {q.Model.SerializedBytes:N0} | {s.ToString("F4", Inv)} | {h.ToString("F4", Inv)} | {(h >= 0.99 ? "yes" : "no")} |");
            }
        }
    }

    private static void Print(MixedPrecisionResult result, TimeSpan elapsed, string output)
    {
        Console.WriteLine($"search: {result.Sensitivity.Count} phase-1 and {result.Steps.Count} phase-2 evaluations in {elapsed.TotalSeconds.ToString("F0", Inv)} s; "
            + $"FP32 {result.ScoreName} {result.Fp32Score.ToString("F4", Inv)}, budget {result.AllowedDrop.ToString(Inv)}");
        Console.WriteLine($"| model | bytes | BitOps/sample | {result.ScoreName} | within budget |");
        Console.WriteLine("| --- | ---: | ---: | ---: | --- |");
        foreach (var p in result.Uniform.Append(result.Final with { Label = "mixed plan" }))
        {
            Console.WriteLine($"| {p.Label} | {p.ModelBytes:N0} | {p.BitOps.ToString("G3", Inv)} | {p.Score.ToString("F4", Inv)} | {(p.Score >= result.Fp32Score - result.AllowedDrop ? "yes" : "no")} |");
        }

        Console.WriteLine("plan: " + string.Join(", ", result.Plan.Select(l => $"{l.Node} {l.Choice}")));
        var files = Quant.Net.Reports.QuantReports.WriteMixedPrecision(result, output);
        Console.WriteLine($"report: {files.Count} files in {output}");
    }
}
