using System.Globalization;
using Quant.Net.Cli;
using Quant.Net.Onnx;
using Quant.Net.Onnx.Tests.Corpus;

namespace Quant.Net.Benchmarks.Onnx;

/// <summary>
/// The README's transformer table: the pretrained sentence encoders of the corpus and the Fashion-MNIST ViT, quantized
/// with default settings (and, for comparison, without outlier smoothing and as an all-integer graph), measured by what
/// their users compare — mean pooled-embedding cosine and nearest-neighbour agreement over held-out sentences, top-1
/// accuracy for the ViT — with size and ONNX Runtime's median latency at batch 1 (sequence 64 for the encoders) on one
/// thread against the FP32 model in the same run.
/// </summary>
internal static class TransformerReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static readonly (string Name, QuantizationConfig Config)[] Modes =
    [
        ("W8A8", new QuantizationConfig()),
        ("W8A8, no smoothing", new QuantizationConfig { OutlierSmoothing = false }),
        ("W8A8, full integer (NPU layout), no smoothing", new QuantizationConfig { FullInteger = true, OutlierSmoothing = false }),
        ("W8A16", new QuantizationConfig { Activations = ActivationType.UInt16 }),
        ("dynamic", new QuantizationConfig { Mode = QuantizationMode.Dynamic }),
    ];

    public static void Run(int sentences)
    {
        Console.WriteLine($"| Model | Mode | Pooled cosine mean / min (ViT: top-1) | NN agreement ({sentences} sentences) | Size vs FP32 | ORT latency vs FP32 (1 thread, seq 64; ViT: one image) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var corpus in CorpusModels.All.Where(m => m.Name is "arctic-embed-xs" or "all-MiniLM-L6-v2"))
        {
            if (corpus.Path is null)
            {
                Console.WriteLine($"| {corpus.Name} | missing: dotnet restore | | | | |");
                continue;
            }

            var model = corpus.Load();
            var long64 = Enumerable.Range(corpus.CalibrationSamples, 400).Select(corpus.Input).First(s => s["input_ids"].Shape[^1] == 64);
            using var fp32 = new ModelRunner(model, 1);
            var fp32Latency = fp32.MedianLatency(long64, 40);
            foreach (var (mode, config) in Modes)
            {
                var result = OnnxQuantizer.Quantize(model, corpus.Calibration, config);
                var (mean, min, agreement) = EmbeddingAgreement.Measure(model, result.Model, corpus, sentences);
                using var quantized = new ModelRunner(result.Model, 1);
                var latency = quantized.MedianLatency(long64, 40);
                Console.WriteLine($"| {corpus.Name} | {mode} | {mean.ToString("F4", Inv)} / {min.ToString("F4", Inv)} | {agreement.ToString("P0", Inv)} | "
                    + $"{(result.Model.SerializedBytes / (double)model.SerializedBytes).ToString("F2", Inv)}× | "
                    + $"{latency.TotalMilliseconds.ToString("F2", Inv)} / {fp32Latency.TotalMilliseconds.ToString("F2", Inv)} ms ({(latency / fp32Latency).ToString("F2", Inv)}×) |");
            }
        }

        string vitPath = Path.Combine(CorpusInputs.DataDirectory, "fashion_vit.onnx");
        if (!File.Exists(vitPath))
        {
            Console.WriteLine("| Fashion-MNIST ViT | missing: run tools/train_fashion_vit.py | | | | |");
            return;
        }

        var vit = OnnxModel.Load(vitPath);
        var (images, labels) = DefaultModel.TestSet();
        var calibration = InMemoryCalibrationData.ForSingleInput("image", DefaultModel.CalibrationImages());
        double fp32Accuracy = ModelComparer.Top1Accuracy(vit, images, [.. labels.Select(l => (int)l)]);
        using var vitFp32 = new ModelRunner(vit, 1);
        var one = new Dictionary<string, InputTensor> { ["image"] = images[0] };
        var vitLatency = vitFp32.MedianLatency(one, 100);
        foreach (var (mode, config) in Modes)
        {
            var result = OnnxQuantizer.Quantize(vit, calibration, config);
            double accuracy = ModelComparer.Top1Accuracy(result.Model, images, [.. labels.Select(l => (int)l)]);
            using var quantized = new ModelRunner(result.Model, 1);
            var latency = quantized.MedianLatency(one, 100);
            Console.WriteLine($"| Fashion-MNIST ViT (ours) | {mode} | top-1 {accuracy.ToString("F1", Inv)}% (FP32 {fp32Accuracy.ToString("F1", Inv)}%, {images.Count} test images) | | "
                + $"{(result.Model.SerializedBytes / (double)vit.SerializedBytes).ToString("F2", Inv)}× | "
                + $"{latency.TotalMilliseconds.ToString("F3", Inv)} / {vitLatency.TotalMilliseconds.ToString("F3", Inv)} ms ({(latency / vitLatency).ToString("F2", Inv)}×, batch 1) |");
        }
    }
}
