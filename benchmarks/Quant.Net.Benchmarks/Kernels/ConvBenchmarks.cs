using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using Quant.Net.Kernels;

namespace Quant.Net.Benchmarks.Kernels;

/// <summary>
/// Convolutions of batch 1, one thread each: ResNet-style dense 3×3 layers (pad 1, C→C, stride 1), MobileNetV2-style
/// depthwise 3×3 layers ("dw" prefix; "s2" suffix for stride 2) and ResNet's RGB stem ("stem224": 3→64 channels, 7×7,
/// stride 2, pad 3, 224×224): ours FP32 and int8 (uint8 input, int8 per-channel weights, float output) against ONNX
/// Runtime's FP32 Conv and its int8 QLinearConv (uint8 output) through InferenceSession.
/// </summary>
public class ConvBenchmarks
{
    private float[] _x = [];
    private byte[] _xq = [];
    private float[] _y = [];
    private Conv2d? _fp32;
    private Conv2d? _int8;
    private OrtSingleOp? _ortFloat;
    private OrtSingleOp? _ortInt8;

    /// <summary>Channels × height × width of the layer (ResNet-18 stages 1-3; depthwise layers of MobileNetV2), or the stem.</summary>
    [Params("64x56x56", "128x28x28", "256x14x14", "dw144x56x56", "dw96x112x112s2", "stem224")]
    public string Layer { get; set; } = "";

    private (int C, int OutC, int H, int W, int Groups, int Stride, int Kernel, int Pad) Dims
    {
        get
        {
            if (Layer == "stem224")
            {
                return (3, 64, 224, 224, 1, 2, 7, 3);
            }

            bool depthwise = Layer.StartsWith("dw", StringComparison.Ordinal);
            string spec = depthwise ? Layer[2..] : Layer;
            int stride = 1;
            if (spec.EndsWith("s2", StringComparison.Ordinal))
            {
                (spec, stride) = (spec[..^2], 2);
            }

            int[] d = spec.Split('x').Select(int.Parse).ToArray();
            return (d[0], d[0], d[1], d[2], depthwise ? d[0] : 1, stride, 3, 1);
        }
    }

    private int OutH => ((Dims.H + (2 * Dims.Pad) - Dims.Kernel) / Dims.Stride) + 1;

    private int OutW => ((Dims.W + (2 * Dims.Pad) - Dims.Kernel) / Dims.Stride) + 1;

    [GlobalSetup]
    public void Setup()
    {
        var (c, outC, h, w, groups, stride, kernel, pad) = Dims;
        int k = c / groups * kernel * kernel, oh = OutH, ow = OutW;
        var random = new Random(3);
        _x = Enumerable.Range(0, c * h * w).Select(_ => (float)Math.Max(0, random.NextDouble() * 2 - 0.5)).ToArray();
        var weights = Enumerable.Range(0, outC * k).Select(_ => (float)(random.NextDouble() - 0.5) * 0.1f).ToArray();
        var bias = Enumerable.Range(0, outC).Select(_ => (float)(random.NextDouble() - 0.5) * 0.1f).ToArray();
        var shape = new Conv2dShape(c, outC, kernel, kernel, groups, stride, stride, padTop: pad, padLeft: pad, padBottom: pad, padRight: pad);
        _fp32 = Conv2d.CreateFloat(shape, weights, bias);
        var wEncoding = QuantEncoding.FromTensor(QuantScheme.Int8SymmetricPerChannel(0), weights, [outC, k]);
        var wq = new sbyte[weights.Length];
        QuantOps.Quantize<sbyte>(weights, [outC, k], wEncoding, wq);
        _int8 = Conv2d.CreateQuantized(shape, wq, wEncoding.Scales, wEncoding.ZeroPoints, bias);
        var xParams = QuantParams.FromRange(QuantScheme.UInt8Asymmetric, 0, 1.5f);
        _xq = new byte[_x.Length];
        QuantOps.Quantize(_x, _xq, xParams);
        _y = new float[outC * oh * ow];
        long[] shapeX = [1, c, h, w], shapeY = [1, outC, oh, ow];
        _ortFloat = new OrtSingleOp(OnnxModelBytes.Conv(c, outC, h, w, kernel, pad, weights, bias, stride, groups),
            OrtValue.CreateTensorValueFromMemory(_x, shapeX), OrtValue.CreateTensorValueFromMemory(new float[outC * oh * ow], shapeY));
        int[] biasQ = bias.Select((b, i) => (int)Math.Round(b / (xParams.Scale * wEncoding.Scales[i]))).ToArray();
        _ortInt8 = new OrtSingleOp(OnnxModelBytes.QLinearConv(c, outC, h, w, kernel, pad, xParams.Scale, (byte)xParams.ZeroPoint, wq, wEncoding.Scales.ToArray(), biasQ, 0.05f, 128,
                stride, groups),
            OrtValue.CreateTensorValueFromMemory(_xq, shapeX), OrtValue.CreateTensorValueFromMemory(new byte[outC * oh * ow], shapeY));
        _ortFloat.Run();
        _ortInt8.Run();
        _xScale = xParams.Scale;
        _xZeroPoint = xParams.ZeroPoint;
    }

    private float _xScale;
    private int _xZeroPoint;

    [GlobalCleanup]
    public void Cleanup()
    {
        _ortFloat?.Dispose();
        _ortInt8?.Dispose();
    }

    [Benchmark(Description = "Quant.Net int8 conv")]
    public void OursInt8() => _int8!.Run(_xq, _xZeroPoint, _xScale, 1, Dims.H, Dims.W, _y, OutputClamp.None, 1);

    [Benchmark(Description = "ORT QLinearConv")]
    public void OrtInt8() => _ortInt8!.Run();

    [Benchmark(Description = "Quant.Net FP32 conv")]
    public void OursFp32() => _fp32!.Run(_x, 1, Dims.H, Dims.W, _y, OutputClamp.None, 1);

    [Benchmark(Baseline = true, Description = "ORT FP32 Conv")]
    public void OrtFp32() => _ortFloat!.Run();
}
