// Int8 and int4 in app code, each step compared with the FP32 computation it replaces: the core primitives (quantize,
// dequantize, fake-quantize, int4 packing), observers, the int8 and FP32 GEMM kernels with requantization, the int8
// layers (QuantizedLinear, QuantizedConv2d) and int4 weight-only blocks (BlockGemm, BlockQuantizedLinear saved and
// loaded). Seeded random data shaped like a transformer's feed-forward layer (768 → 3072, 64 tokens) and a ResNet
// 3×3 convolution (64 channels, 56×56). --output DIR: where the saved layer goes (default: a new temporary folder).
using Quant.Net;
using Quant.Net.Kernels;
using Quant.Net.Layers;
using Quant.Net.Observers;

// Per-channel int8 weights [out, in], symmetric, narrow range [-127, 127]:
int outChannels = 3072, inChannels = 768;
float[] weights = RandomData.Gaussian(outChannels * inChannels, std: 0.02f);
var encoding = QuantEncoding.FromTensor(QuantScheme.Int8SymmetricPerChannel(axis: 0), weights, [outChannels, inChannels]);
var q = new sbyte[weights.Length];
QuantOps.Quantize<sbyte>(weights, [outChannels, inChannels], encoding, q);

// uint8 activations from a calibrated range:
float[] activations = RandomData.Gaussian(64 * inChannels, std: 1f);   // 64 tokens
float min = activations.Min(), max = activations.Max();                // or an observer, below
var p = QuantParams.FromRange(QuantScheme.UInt8Asymmetric, min, max);
var codes = new byte[activations.Length];
var restored = new float[activations.Length];
QuantOps.Quantize(activations, codes, p);
QuantOps.Dequantize<byte>(codes, restored, p);
var simulated = (float[])activations.Clone();
QuantOps.FakeQuantize(simulated, simulated, p);                        // in place, simulated quantization

// int4 in blocks of 32 along K, packed two per byte (ONNX int4 layout):
int n = outChannels, k = inChannels;
var blocks = QuantEncoding.FromTensor(QuantScheme.Int4Block(axis: 1, blockSize: 32), weights, [n, k]);
var packed = new byte[Int4Packing.PackedLength(n * k)];
QuantOps.QuantizeInt4(weights, [n, k], blocks, packed);

var dequantized = new float[weights.Length];
QuantOps.Dequantize<sbyte>(q, [outChannels, inChannels], encoding, dequantized);
Report("int8 weights, per channel", weights, dequantized);
Report("uint8 activations, min/max range", activations, restored);
Console.WriteLine($"  fake-quantize gives exactly quantize + dequantize: {simulated.AsSpan().SequenceEqual(restored)}");
var unpacked = new float[n * k];
QuantOps.DequantizeInt4(packed, [n, k], blocks, unpacked);
Report($"int4 weights, blocks of 32 ({packed.Length + (blocks.Count * 4)} bytes vs {weights.Length * 4} in FP32)", weights, unpacked);

// Observers: a stream of batches in, an encoding out, with bounded memory.
var calibrationBatches = Enumerable.Range(0, 8).Select(_ => RandomData.Laplace(16 * inChannels)).ToList();
int convChannels = 64, kh = 3, kw = 3;
float[] convWeights = RandomData.Gaussian(convChannels * convChannels * kh * kw, std: 0.05f);
var observer = new HistogramMseObserver();                     // or MinMax, MovingAverageMinMax, Percentile, Entropy, Sqnr
foreach (float[] batch in calibrationBatches) observer.Observe(batch);
QuantEncoding activationEncoding = observer.ComputeEncoding(QuantScheme.UInt8Asymmetric);

var weightObserver = new MinMaxObserver(channelAxis: 0);       // one range per output channel
weightObserver.Observe(convWeights, [convChannels, convChannels, kh, kw]);
var perChannel = weightObserver.ComputeEncoding(QuantScheme.Int8SymmetricPerChannel(axis: 0));

var minMax = new MinMaxObserver();
calibrationBatches.ForEach(b => minMax.Observe(b));
float[] heldOut = RandomData.Laplace(16 * inChannels), withMse = new float[heldOut.Length], withMinMax = new float[heldOut.Length];
QuantOps.FakeQuantize(heldOut, withMse, activationEncoding[0]);
QuantOps.FakeQuantize(heldOut, withMinMax, minMax.ComputeEncoding(QuantScheme.UInt8Asymmetric)[0]);
Report("heavy-tailed activations, MSE observer", heldOut, withMse);
Report("heavy-tailed activations, min/max observer", heldOut, withMinMax);
Console.WriteLine($"  conv weights: {perChannel.Count} per-channel scales, from {perChannel.Scales.ToArray().Min():G3} to {perChannel.Scales.ToArray().Max():G3}");

// Int8 GEMM: y = x · Wᵀ + b with W packed once (the int8 codes and per-channel scales above) and x as uint8 codes;
// the FP32 GEMM on the original values is the baseline.
int m = 64;
float[] bias = RandomData.Gaussian(n, std: 0.1f);
var y = new float[m * n];
var reference = new float[m * n];
var perChannelScales = encoding.Scales;
var packedWeights = PackedInt8Weights.Pack(q, k, n, WeightLayout.NByK, zeroPoints: [], scales: perChannelScales); // once
Int8Gemm.Multiply(codes, m, p, packedWeights, bias, y, maxDegreeOfParallelism: -1);
var fp32 = PackedFloatWeights.Pack(weights, k, n, WeightLayout.NByK);
Fp32Gemm.Multiply(activations, m, fp32, bias, reference);

// Or int32 accumulators, requantized to int8 outputs with one multiplier per channel (float or gemmlowp fixed point):
var accumulators = new int[m * n];
Int8Gemm.Multiply(codes, m, p.ZeroPoint, packedWeights, accumulators);
var outputEncoding = QuantParams.FromRange(QuantScheme.Int8Asymmetric, reference.Min(), reference.Max());
float[] multipliers = [.. perChannelScales.ToArray().Select(s => p.Scale * s / outputEncoding.Scale)];
var output = new sbyte[m * n];
QuantOps.Requantize<sbyte>(accumulators, output, multipliers, outputEncoding.ZeroPoint);
var fixedPointOutput = new sbyte[m * n];
QuantOps.Requantize<sbyte>(accumulators, fixedPointOutput, [.. multipliers.Select(v => FixedPointMultiplier.FromDouble(v))], outputEncoding.ZeroPoint);

Report("int8 GEMM (64×768×3072) vs FP32 GEMM", reference, y);
var product = new float[m * n];
Fp32Gemm.Multiply(activations, m, fp32, [], product);
var requantized = new float[m * n];
QuantOps.Dequantize<sbyte>(output, requantized, outputEncoding);
Report("int32 accumulators requantized to int8", product, requantized);
Console.WriteLine($"  fixed-point multipliers give the same int8 code for {100.0 * output.Zip(fixedPointOutput).Count(t => t.First == t.Second) / output.Length:F2}% of outputs");

// int8 layers: weights quantized once; activations quantized per call (from their own range, or a fixed one):
var fc = new QuantizedLinear(weights, inFeatures: inChannels, outFeatures: outChannels, bias);   // int8 per-channel weights
fc.Forward(activations, y, OutputClamp.Relu, maxDegreeOfParallelism: -1);                 // quantized per call (dynamic)

float[] convBias = RandomData.Gaussian(convChannels, std: 0.1f);
float[] image = [.. RandomData.Gaussian(convChannels * 56 * 56, std: 2f).Select(v => Math.Clamp(v, 0f, 6f))];   // [1, 64, 56, 56] in [0, 6]
var convOutput = new float[convChannels * 56 * 56];
var conv = new QuantizedConv2d(new Conv2dShape(convChannels, convChannels, kh, kw, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    convWeights, convBias, inputEncoding: QuantParams.FromRange(QuantScheme.UInt8Asymmetric, 0f, 6f)); // static input range
conv.Forward(image, batch: 1, height: 56, width: 56, convOutput, OutputClamp.Relu);

// Chained int8 layers: the first writes uint8 codes in the next one's input encoding (requantized in its output stage,
// as ONNX QLinearConv), the next reads them as they are: no float tensor between them.
var middle = QuantParams.FromRange(QuantScheme.UInt8Asymmetric, 0f, 8f);               // the next layer's calibrated input range
var next = new QuantizedConv2d(conv.Shape, convWeights, convBias, inputEncoding: middle);
var convCodes = new byte[convOutput.Length];
conv.Forward(image, batch: 1, height: 56, width: 56, convCodes, middle, OutputClamp.Relu);   // uint8 out
var chained = new float[convOutput.Length];
next.Forward(convCodes, batch: 1, height: 56, width: 56, chained, OutputClamp.Relu);      // uint8 in

Report($"QuantizedLinear, ReLU ({fc.WeightBytes} weight bytes vs {weights.Length * 4})", Relu(reference), y);
var convReference = new float[convOutput.Length];
Conv2d.CreateFloat(conv.Shape, convWeights, convBias).Run(image, 1, 56, 56, convReference, OutputClamp.Relu, 1);
Report("QuantizedConv2d 3×3, 64 channels, 56×56, ReLU", convReference, convOutput);
var chainedReference = new float[convOutput.Length];
Conv2d.CreateFloat(conv.Shape, convWeights, convBias).Run(convReference, 1, 56, 56, chainedReference, OutputClamp.Relu, 1);
Report($"two QuantizedConv2d chained through uint8 codes (first layer's output max {convReference.Max():F2})", chainedReference, chained);

// W [N, K] (or [K, N]) to int4 in blocks of 32, symmetric, MSE-searched block ranges, fp16 scale storage:
var w = BlockQuantizedWeights.Quantize(weights, k, n, WeightLayout.NByK,
    new BlockQuantizationOptions { Bits = 4, BlockSize = 32, Symmetric = true, Rounding = BlockRounding.MseSearch, ScaleType = BlockScaleType.Fp16 });
var blockOutput = new float[m * n];
BlockGemm.Multiply(activations, m, w, bias, blockOutput, BlockGemmMode.Int8Activations, maxDegreeOfParallelism: -1);   // or FloatActivations

// A layer for app code (a decoder's linear layers), saved once and loaded without quantizing again:
var layer = BlockQuantizedLinear.FromFloat(weights, inFeatures: k, outFeatures: n, bias, mode: BlockGemmMode.Int8Activations);
layer.Forward(activations, y, maxDegreeOfParallelism: -1);
string path = Path.Combine(OutputFolder(), "fc1.qnbl");
using (var file = File.Create(path)) layer.Save(file);
using var stream = File.OpenRead(path);
var again = BlockQuantizedLinear.Load(stream);

Report($"int4 block GEMM, int8 activations ({w.StorageBytes} weight bytes)", reference, blockOutput);
var fromFile = new float[m * n];
again.Forward(activations, fromFile);
Report($"BlockQuantizedLinear int4 ({layer.WeightBytes} weight bytes)", reference, y);
Console.WriteLine($"  saved to {path} ({new FileInfo(path).Length} bytes); the loaded layer gives the same outputs: {fromFile.AsSpan().SequenceEqual(y)}");
return 0;

// Prints the error of an approximation against the FP32 values it replaces.
static void Report(string what, float[] fp32, float[] approximation) => Console.WriteLine(
    $"{what}: max |error| {ErrorMetrics.MaxAbsoluteError(fp32, approximation):G3}, SQNR {ErrorMetrics.SqnrDecibels(fp32, approximation):F1} dB");

static float[] Relu(float[] values) => [.. values.Select(v => Math.Max(v, 0f))];

// --output DIR, or a new temporary folder.
string OutputFolder() => Array.IndexOf(args, "--output") is int i and >= 0 && i + 1 < args.Length
    ? Directory.CreateDirectory(args[i + 1]).FullName
    : Directory.CreateTempSubdirectory("app-layers-").FullName;

/// <summary>Seeded random data: the same on every run.</summary>
internal static class RandomData
{
    private static readonly Random Generator = new(7);

    /// <summary>Normal(0, std) values (Box–Muller).</summary>
    public static float[] Gaussian(int count, float std) => [.. Enumerable.Range(0, count).Select(_ =>
        std * MathF.Sqrt(-2f * MathF.Log(1f - Generator.NextSingle())) * MathF.Cos(2f * MathF.PI * Generator.NextSingle()))];

    /// <summary>Laplace(0, 1) values (heavy-tailed, like many activations), by inversion.</summary>
    public static float[] Laplace(int count) => [.. Enumerable.Range(0, count).Select(_ => Generator.NextSingle() - 0.5f)
        .Select(u => -MathF.Sign(u) * MathF.Log(1f - (2f * MathF.Abs(u))))];
}
