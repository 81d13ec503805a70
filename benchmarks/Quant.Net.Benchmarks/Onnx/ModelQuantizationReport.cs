using System.Diagnostics;
using System.Globalization;
using Quant.Net.Onnx;

namespace Quant.Net.Benchmarks.Onnx;

/// <summary>
/// `dotnet run -c Release -- model-report`: the accuracy side of the ONNX adapter on real data. Fashion-MNIST: the
/// shipped CNN, FP32 vs quantized accuracy on the full 10k test set. ResNet-18: W8A8 per-channel feature cosine and
/// SQNR vs FP32 on natural photographs, plus per-layer SQNR. Latency is measured separately by ResNet18Benchmarks.
/// </summary>
internal static class ModelQuantizationReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Run()
    {
        FashionMnist();
        ResNet18();
    }

    private static void FashionMnist()
    {
        var model = Quant.Net.Cli.DefaultModel.Load();
        var (train, _) = RealModels.FashionMnist(train: true, count: 1000);
        var (test, labels) = RealModels.FashionMnist(train: false);
        var calibration = InMemoryCalibrationData.ForSingleInput("image", train);
        double fp32 = Accuracy(model, test, labels);
        Console.WriteLine($"Fashion-MNIST CNN, full test set ({test.Count} images); calibration: first 1000 training images");
        Console.WriteLine("| model | top-1 accuracy | Δ vs FP32 | initializer bytes |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        Console.WriteLine($"| FP32 | {fp32.ToString("F2", Inv)}% | | {model.InitializerBytes:N0} |");
        foreach (var (name, config) in new (string, QuantizationConfig)[]
        {
            ("W8A8 per-channel, MinMax", new QuantizationConfig()),
            ("W8A8 per-tensor, MinMax", new QuantizationConfig { PerChannelWeights = false }),
            ("W8A8 per-channel, MSE", new QuantizationConfig { Observer = ObserverKind.Mse }),
            ("W8A8 per-channel, entropy", new QuantizationConfig { Observer = ObserverKind.Entropy }),
            ("W8A16 per-channel", new QuantizationConfig { Activations = ActivationType.Int16 }),
            ("W4A8 per-channel (nearest; AdaRound comes with PTQ techniques)", new QuantizationConfig { Weights = WeightType.Int4 }),
            ("dynamic int8 (Gemm only)", new QuantizationConfig { Mode = QuantizationMode.Dynamic }),
        })
        {
            var result = OnnxQuantizer.Quantize(model, calibration, config);
            double accuracy = Accuracy(result.Model, test, labels);
            Console.WriteLine($"| {name} | {accuracy.ToString("F2", Inv)}% | {(accuracy - fp32).ToString("+0.00;-0.00", Inv)} pt | {result.Model.InitializerBytes:N0} |");
        }

        Console.WriteLine();
    }

    private static void ResNet18()
    {
        var model = OnnxModel.Load(RealModels.ResNet18Path);
        var (calibration, evaluation) = RealModels.ResNetInputs();
        string input = model.Inputs[0].Name;
        var sw = Stopwatch.StartNew();
        var result = OnnxQuantizer.Quantize(model, InMemoryCalibrationData.ForSingleInput(input, calibration));
        var quantizeTime = sw.Elapsed;
        var report = ModelComparer.Compare(model, result, InMemoryCalibrationData.ForSingleInput(input, evaluation), latencyThreads: 1, latencyRuns: 30);
        var o = report.Outputs[0];
        Console.WriteLine($"ResNet-18 (CNTK, opset {model.OpsetVersion} -> {result.Preparation.OpsetTo}, {result.Preparation.FoldedBatchNorms.Count} BatchNorms folded), W8A8 per-channel, MinMax;");
        Console.WriteLine($"calibration: {calibration.Count} crops, evaluation: {evaluation.Count} other crops of {RealModels.SkimageFolder} photographs; quantized in {quantizeTime.TotalSeconds.ToString("F1", Inv)} s");
        Console.WriteLine($"| metric | value |");
        Console.WriteLine($"| --- | ---: |");
        Console.WriteLine($"| feature cosine similarity vs FP32 | {o.CosineSimilarity.ToString("F5", Inv)} |");
        Console.WriteLine($"| feature SQNR vs FP32 | {o.SqnrDecibels.ToString("F1", Inv)} dB |");
        Console.WriteLine($"| model bytes FP32 / INT8 | {report.Fp32ModelBytes:N0} / {report.QuantizedModelBytes:N0} ({((double)report.QuantizedModelBytes / report.Fp32ModelBytes).ToString("F2", Inv)}×) |");
        Console.WriteLine($"| latency batch 1, 1 thread FP32 / INT8 (median of 30) | {report.Fp32Latency.TotalMilliseconds.ToString("F2", Inv)} / {report.QuantizedLatency.TotalMilliseconds.ToString("F2", Inv)} ms ({(report.QuantizedLatency / report.Fp32Latency).ToString("F2", Inv)}×) |");
        Console.WriteLine();
        Console.WriteLine("| per-layer tensor | node | SQNR dB | cosine |");
        Console.WriteLine("| --- | --- | ---: | ---: |");
        foreach (var l in report.Layers)
        {
            Console.WriteLine($"| {l.Tensor} | {l.Node} | {l.SqnrDecibels.ToString("F1", Inv)} | {l.CosineSimilarity.ToString("F5", Inv)} |");
        }
    }

    /// <summary>`-- resnet-ptq`: ResNet-18 at W4A8, nearest against CLE + (empirical or analytical) bias correction, feature cosine and SQNR vs FP32.</summary>
    public static void ResNet18LowBit()
    {
        var model = OnnxModel.Load(RealModels.ResNet18Path);
        var (calibration, evaluation) = RealModels.ResNetInputs();
        string input = model.Inputs[0].Name;
        var calibrationData = InMemoryCalibrationData.ForSingleInput(input, calibration);
        var evaluationData = InMemoryCalibrationData.ForSingleInput(input, evaluation);
        Console.WriteLine("| ResNet-18 weights | techniques | feature cosine | feature SQNR | time |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: |");
        foreach (var (name, config) in new (string, QuantizationConfig)[]
        {
            ("W8A8 per-channel | nearest", new QuantizationConfig()),
            ("W4A8 per-channel | nearest", new QuantizationConfig { Weights = WeightType.Int4 }),
            ("W4A8 per-channel | CLE + bias correction", new QuantizationConfig { Weights = WeightType.Int4, CrossLayerEqualization = true, BiasCorrection = true }),
            ("W4A8 per-channel | CLE + analytical bias correction", new QuantizationConfig { Weights = WeightType.Int4, CrossLayerEqualization = true, BiasCorrection = true, BiasCorrectionMethod = BiasCorrectionMethod.Analytical }),
            ("W4A8 per-tensor | nearest", new QuantizationConfig { Weights = WeightType.Int4, PerChannelWeights = false }),
            ("W4A8 per-tensor | CLE + bias correction", new QuantizationConfig { Weights = WeightType.Int4, PerChannelWeights = false, CrossLayerEqualization = true, BiasCorrection = true }),
            ("W4A8 per-tensor | CLE + analytical bias correction", new QuantizationConfig { Weights = WeightType.Int4, PerChannelWeights = false, CrossLayerEqualization = true, BiasCorrection = true, BiasCorrectionMethod = BiasCorrectionMethod.Analytical }),
        })
        {
            var sw = Stopwatch.StartNew();
            var result = OnnxQuantizer.Quantize(model, calibrationData, config);
            var time = sw.Elapsed;
            var report = ModelComparer.Compare(model, result, evaluationData, latencyRuns: 0, perLayer: false);
            var o = report.Outputs[0];
            Console.WriteLine($"| {name} | {o.CosineSimilarity.ToString("F5", Inv)} | {o.SqnrDecibels.ToString("F1", Inv)} dB | {time.TotalSeconds.ToString("F0", Inv)} s |");
        }
    }

    /// <summary>
    /// `-- resnet-adaround [iterations] [rows]`: ResNet-18 W4A8 per-channel with AdaRound (the given iterations and rows per
    /// image per step, both threads), per-layer time and the feature cosine / SQNR against FP32.
    /// </summary>
    public static void ResNet18AdaRound(int iterations, int rows)
    {
        var model = OnnxModel.Load(RealModels.ResNet18Path);
        var (calibration, evaluation) = RealModels.ResNetInputs();
        string input = model.Inputs[0].Name;
        var calibrationData = InMemoryCalibrationData.ForSingleInput(input, calibration);
        var options = new Quant.Net.Rounding.AdaRoundOptions { Iterations = iterations, RowsPerSample = rows, MaxDegreeOfParallelism = 2 };
        var sw = Stopwatch.StartNew();
        var last = TimeSpan.Zero;
        var result = OnnxQuantizer.Quantize(model, calibrationData, new QuantizationConfig { Weights = WeightType.Int4, AdaRound = options },
            adaRoundProgress: new Printer(r =>
            {
                Console.WriteLine($"  {r.Layer}: {(sw.Elapsed - last).TotalSeconds.ToString("F1", Inv)} s, MSE {r.NearestMse.ToString("E2", Inv)} -> {r.AdaRoundMse.ToString("E2", Inv)}");
                last = sw.Elapsed;
            }));
        var report = ModelComparer.Compare(model, result, InMemoryCalibrationData.ForSingleInput(input, evaluation), latencyRuns: 0, perLayer: false);
        Console.WriteLine($"W4A8 per-channel AdaRound ({iterations} iterations, {rows} rows per image): cosine {report.Outputs[0].CosineSimilarity.ToString("F5", Inv)}, SQNR {report.Outputs[0].SqnrDecibels.ToString("F1", Inv)} dB, {sw.Elapsed.TotalMinutes.ToString("F1", Inv)} min");
    }

    private sealed class Printer(Action<AdaRoundLayerReport> print) : IProgress<AdaRoundLayerReport>
    {
        public void Report(AdaRoundLayerReport value) => print(value);
    }

    private static double Accuracy(OnnxModel model, List<InputTensor> images, byte[] labels) =>
        ModelComparer.Top1Accuracy(model, images, [.. labels.Select(l => (int)l)], batchSize: 500);
}
