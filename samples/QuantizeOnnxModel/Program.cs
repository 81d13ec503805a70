// Post-training quantization of an ONNX model from C#: FP32 model in, QDQ model and AIMET encodings out, compared with
// FP32. With no arguments: the Fashion-MNIST CNN the `quant` tool ships, calibrated on its 256 images and compared on its
// 500 test images. Your own model: MODEL.onnx --calibration DIR (.npy files or images, one sample per file).
// --techniques: 4-bit weights, with the accuracy-recovery techniques (CLE, AdaRound, bias correction) and PtqPipeline.
// --output DIR: where the files go (default: a new temporary folder).
using Quant.Net.Onnx;
using Quant.Net.Rounding;

string? modelArgument = args.FirstOrDefault(a => a.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase));
string? calibrationFolder = Option("--calibration");
string output = Option("--output") ?? Directory.CreateTempSubdirectory("quantize-onnx-model-").FullName;
Directory.CreateDirectory(output);

var model = OnnxModel.Load(modelArgument ?? ShippedFashionMnist.ModelPath);   // external data is read from beside the file
ICalibrationDataSource data = calibrationFolder is null                      // or your own ICalibrationDataSource
    ? InMemoryCalibrationData.ForSingleInput(ShippedFashionMnist.InputName, ShippedFashionMnist.CalibrationImages())
    : FolderCalibrationData.Open(calibrationFolder, model);                  // .npy files or images, one sample per file
var config = new QuantizationConfig                                          // or QuantizationConfig.Load("config.json")
{
    Weights = WeightType.Int8,                   // symmetric, one scale per output channel (PerChannelWeights)
    Activations = ActivationType.UInt8,          // asymmetric, one range per tensor from the calibration data
    Observer = ObserverKind.MinMax,              // or Mse, Entropy, Percentile, Sqnr
    Target = DeploymentTarget.Portable,          // exact on every CPU; or X86Vnni, Arm64, QnnHtp, ...
};
using var cancellation = new CancellationTokenSource(TimeSpan.FromMinutes(10));
var result = OnnxQuantizer.Quantize(model, data, config, progress: new StagePrinter(), cancellationToken: cancellation.Token);
result.Model.Save(Path.Combine(output, "model.int8.onnx"));                 // atomic; external data above 2 GiB
AimetEncodingsFile.Save(result, Path.Combine(output, "model.encodings"), AimetEncodingsVersion.Version100);
File.WriteAllText(Path.Combine(output, "config.json"), config.ToJson());     // the same settings for `quant quantize --config`

// Compare with FP32 on data the calibration did not see (the shipped test images; a model of yours: 32 calibration samples).
var (testImages, testLabels) = ShippedFashionMnist.TestSet();
ICalibrationDataSource evaluation = modelArgument is null
    ? InMemoryCalibrationData.ForSingleInput(ShippedFashionMnist.InputName, testImages)
    : new InMemoryCalibrationData(data.GetSamples().Take(32));
var report = ModelComparer.Compare(model, result, evaluation);              // per-output SQNR/cosine/top-1, per-layer SQNR, size, latency
Console.WriteLine($"{result.QuantizedNodes.Count} nodes quantized ({result.Preparation.FoldedBatchNorms.Count} BatchNorms folded), {report.Samples} samples compared");
Console.WriteLine($"size: FP32 {report.Fp32ModelBytes / 1024.0:F1} KiB, INT8 {report.QuantizedModelBytes / 1024.0:F1} KiB ({(double)report.QuantizedModelBytes / report.Fp32ModelBytes:F2}x)");
Console.WriteLine($"latency, batch 1: FP32 {report.Fp32Latency.TotalMilliseconds:F3} ms, INT8 {report.QuantizedLatency.TotalMilliseconds:F3} ms");
foreach (var o in report.Outputs)
{
    Console.WriteLine($"output '{o.Name}': SQNR {o.SqnrDecibels:F1} dB, cosine {o.CosineSimilarity:F5}, top-1 agreement {o.Top1Agreement * 100:F1}%");
}

var worst = report.Layers.MinBy(l => l.SqnrDecibels);
Console.WriteLine($"where the error enters most: '{worst?.Tensor}', {worst?.SqnrDecibels:F1} dB; int8 arithmetic measured: {report.HostArithmetic}");
foreach (var warning in report.Warnings)
{
    Console.WriteLine($"warning: {warning}");
}

if (modelArgument is null)
{
    double fp32Accuracy = ModelComparer.Top1Accuracy(model, testImages, testLabels);
    double int8Accuracy = ModelComparer.Top1Accuracy(result.Model, testImages, testLabels);
    Console.WriteLine($"top-1 accuracy on {testLabels.Length} test images: FP32 {fp32Accuracy:P1}, INT8 {int8Accuracy:P1}");
}

if (args.Contains("--techniques") && modelArgument is null)
{
    // 4-bit per-tensor weights: nearest rounding costs accuracy; the techniques win it back. Kept to seconds here: 64
    // calibration images, 200 AdaRound iterations on 64 positions per image (AIMET: 10,000 on every position).
    var calibration = new InMemoryCalibrationData(data.GetSamples().Take(64));
    var nearest = OnnxQuantizer.Quantize(model, calibration, new QuantizationConfig { Weights = WeightType.Int4, PerChannelWeights = false });
    double Accuracy(OnnxModel m) => ModelComparer.Top1Accuracy(m, testImages, testLabels);   // a fraction: 0.938 is 93.8%
    var perLayer = new ConsoleProgress<AdaRoundLayerReport>(r => Console.WriteLine(
        $"  AdaRound {r.LayerIndex + 1}/{r.Layers} {r.Layer}: reconstruction MSE {r.NearestMse:G3} (nearest) -> {r.AdaRoundMse:G3}"));
    var recoveryConfig = new QuantizationConfig
    {
        Weights = WeightType.Int4, PerChannelWeights = false,
        CrossLayerEqualization = true,                 // + high-bias absorption from the folded BatchNorms
        AdaRound = new AdaRoundOptions { Iterations = 200, RowsPerSample = 64 },   // AIMET: 10,000 iterations, every position; batch 32, λ 0.01, β 20 → 2
        BiasCorrection = true,                         // empirical, layer by layer
    };
    var recovered = OnnxQuantizer.Quantize(model, calibration, recoveryConfig, adaRoundProgress: perLayer);
    var auto = PtqPipeline.Run(model, calibration, m => Accuracy(m), allowedDrop: 0.01, recoveryConfig, adaRound: recoveryConfig.AdaRound);
    Console.WriteLine($"W4A8 per-tensor, top-1: nearest {Accuracy(nearest.Model):P1}, CLE + AdaRound + bias correction {Accuracy(recovered.Model):P1} (FP32 {Accuracy(model):P1})");
    Console.WriteLine($"PtqPipeline (stop within 1 pt): {string.Join(", ", auto.Steps.Select(s => $"{s.Step} {s.Score:P1}"))}; target met: {auto.TargetMet}");
    AimetEncodingsFile.Save(auto.Result, Path.Combine(output, "model.w4.encodings"), AimetEncodingsVersion.Version100);
    auto.Result.Model.Save(Path.Combine(output, "model.w4.onnx"));
}

Console.WriteLine($"wrote {string.Join(", ", Directory.GetFiles(output).Select(Path.GetFileName).Order())} to {output}");
return 0;

string? Option(string name) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

/// <summary>Prints each stage of a long step once, when it starts.</summary>
internal sealed class StagePrinter : IProgress<QuantizationProgress>
{
    private string? _stage;

    public void Report(QuantizationProgress value)
    {
        if (value.Stage != _stage)
        {
            _stage = value.Stage;
            Console.WriteLine($"  {value.Stage}");
        }
    }
}

/// <summary>Reports on the calling thread (Progress&lt;T&gt; posts to the thread pool, so its lines can come late).</summary>
internal sealed class ConsoleProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
