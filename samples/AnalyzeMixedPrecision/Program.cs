// Where quantization hurts, and bit widths per layer within an accuracy budget, on the Fashion-MNIST CNN the `quant`
// tool ships: QuantAnalyzer quantizes it once at 4-bit weights and scores variants with groups of quantizers left in
// float (weights only, activations only, each group alone); MixedPrecision.Search chooses W8A8 or W4A8 per layer within
// 0.5 points of FP32. Scores: top-1 accuracy on 300 of the shipped test images. Both write an HTML page with plots and
// JSON; the plan becomes a QDQ model. --output DIR: where the files go (default: a new temporary folder).
using Quant.Net.Onnx;
using Quant.Net.Reports;
using Quant.Net.Techniques;

string output = Option("--output") ?? Directory.CreateTempSubdirectory("analyze-mixed-precision-").FullName;
Directory.CreateDirectory(output);
var model = OnnxModel.Load(ShippedFashionMnist.ModelPath);
var calibration = InMemoryCalibrationData.ForSingleInput(ShippedFashionMnist.InputName, ShippedFashionMnist.CalibrationImages());
var (validationImages, validationLabels) = ShippedFashionMnist.TestSet(count: 300);

var score = ModelScore.Top1Accuracy(validationImages, validationLabels);            // or ModelScore.CosineToFp32(model, calibration)
var analysis = QuantAnalyzer.Analyze(model, calibration, score, new QuantizationConfig { Weights = WeightType.Int4 });
QuantReports.WriteAnalysis(analysis, output);                                       // analysis.html + .json + PNGs
var options = new MixedPrecisionOptions { Candidates = [PrecisionCandidate.W8A8, PrecisionCandidate.W4A8], AllowedDrop = 0.005 };   // half a point
var search = MixedPrecision.Search(model, calibration, score, options);
QuantReports.WriteMixedPrecision(search, output);                                   // mixed-precision.html + .json + PNGs
var deployed = OnnxQuantizer.Quantize(model, calibration, search.Config);           // the plan as a QDQ model
deployed.Model.Save(Path.Combine(output, "fashion_cnn.mixed.onnx"));

Console.WriteLine($"top-1 on {validationLabels.Length} test images, W4A8: FP32 {analysis.Fp32Score:P1}, weights only {analysis.WeightOnlyScore:P1}, "
    + $"activations only {analysis.ActivationOnlyScore:P1}, all {analysis.QuantizedScore:P1}");
var worst = analysis.Groups.MinBy(g => g.EnabledAloneScore);
Console.WriteLine($"most sensitive group: {worst?.Node} ({worst?.OpType}), {worst?.EnabledAloneScore:P1} when quantized alone");
foreach (string advice in QuantReports.Advice(analysis))
{
    Console.WriteLine($"  {advice}");
}

foreach (var point in search.Uniform.Append(search.Final with { Label = "mixed plan" }))
{
    Console.WriteLine($"{point.Label,-14} {point.ModelBytes,9:N0} bytes, {point.BitOps / 1e9:F2} G BitOps, top-1 {point.Score:P1}");
}

Console.WriteLine($"plan: {string.Join(", ", search.Plan.Select(l => $"{l.Node} {l.Choice}"))}; within {100 * search.AllowedDrop} pt of FP32: {search.WithinBudget}");
Console.WriteLine($"the plan's QDQ model: top-1 {ModelComparer.Top1Accuracy(deployed.Model, validationImages, validationLabels):P1}; reports and model in {output}");
return 0;

string? Option(string name) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
