// Weight-only int4 for a language model: the byte-level decoder the tests train (tools/train_tiny_lm.py: 4 causal blocks
// of width 128, 0.84 M parameters, head tied to the token embedding), its MatMul weights quantized to 4 bits in blocks of
// 32 (round to nearest, and GPTQ on a few calibration windows), written as com.microsoft.MatMulNBits and run by ONNX
// Runtime; perplexity on text the model never saw, against FP32. Text: Debian's licence texts (/usr/share/common-licenses),
// the last tenth of each (training used the rest). --output DIR: where the models go (default: a new temporary folder).
using Quant.Net.Kernels;
using Quant.Net.Onnx;

string output = Option("--output") ?? Directory.CreateTempSubdirectory("weight-only-lm-").FullName;
Directory.CreateDirectory(output);
var model = OnnxModel.Load(Path.Combine(AppContext.BaseDirectory, "data", "tiny_lm.onnx"));
var (training, heldOut) = LicenceTexts();
var windows = LanguageModelEvaluator.Windows(heldOut, 64).ToList();       // 64 bytes fed, each next byte scored
double fp32 = LanguageModelEvaluator.Perplexity(model, windows).Perplexity;

// ONNX: every MatMul with a constant [K, N] weight, as com.microsoft.MatMulNBits or as opset-21 DequantizeLinear(block_size):
var result = WeightOnlyQuantizer.Quantize(model, new WeightOnlyOptions { Format = WeightOnlyFormat.MatMulNBits, AccuracyLevel = 4 });
result.Model.Save(Path.Combine(output, "tiny_lm.int4.onnx"));

// GPTQ: columns rounded in order, each one's error moved onto those not yet rounded, from the layers' calibration inputs:
var calibrationWindows = LanguageModelEvaluator.Windows(training, 64).Where((_, i) => i % 50 == 0).ToList();
var calibration = InMemoryCalibrationData.ForSingleInput(model.Inputs[0].Name, calibrationWindows.Select(w => InputTensor.FromInt64(w[..^1], 1, 64)));
var gptq = WeightOnlyQuantizer.Quantize(model, new WeightOnlyOptions
{
    Method = WeightOnlyMethod.Gptq,
    Blocks = new BlockQuantizationOptions { Bits = 4, BlockSize = 32, Rounding = BlockRounding.MseSearch },
}, calibration);
gptq.Model.Save(Path.Combine(output, "tiny_lm.int4-gptq.onnx"));

long floatBytes = result.Weights.Values.Sum(w => (long)w.N * w.K * sizeof(float));
long packedBytes = result.Weights.Values.Sum(w => w.StorageBytes);
Console.WriteLine($"{result.Weights.Count} MatMul layers to int4 blocks of 32: {floatBytes / 1024.0:F0} KiB of FP32 weights -> {packedBytes / 1024.0:F0} KiB"
    + $" ({result.TiedEmbeddings.Count} embedding table(s) read from the tied head); model file {model.SerializedBytes / 1024.0:F0} KiB -> {result.Model.SerializedBytes / 1024.0:F0} KiB");
Console.WriteLine($"perplexity on {windows.Count} held-out windows: FP32 {fp32:F4}");
foreach (var (name, quantized) in new[] { ("int4, nearest", result.Model), ($"int4, GPTQ ({calibrationWindows.Count} windows)", gptq.Model) })
{
    double perplexity = LanguageModelEvaluator.Perplexity(quantized, windows).Perplexity;
    Console.WriteLine($"  {name,-24} {perplexity:F4} ({(perplexity / fp32) - 1:+0.0%;-0.0%})");
}

Console.WriteLine($"models in {output}");
return 0;

// The licence texts the model was trained on, split as its training script split them: the first nine tenths of each
// file for training, the last tenth held out.
static (List<long> Training, List<long> HeldOut) LicenceTexts()
{
    var (training, heldOut) = (new List<long>(), new List<long>());
    foreach (string name in new[] { "Apache-2.0", "MPL-2.0", "GPL-3", "LGPL-3", "Artistic", "GFDL-1.3", "GPL-2", "LGPL-2.1", "CC0-1.0" })
    {
        byte[] text = File.ReadAllBytes(Path.Combine("/usr/share/common-licenses", name));
        int cut = text.Length * 9 / 10;
        training.AddRange(text[..cut].Select(b => (long)b));
        heldOut.AddRange(text[cut..].Select(b => (long)b));
    }

    return (training, heldOut);
}

string? Option(string name) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
