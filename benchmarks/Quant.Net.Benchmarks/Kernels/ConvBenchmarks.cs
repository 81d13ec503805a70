using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using Quant.Net.Kernels;

namespace Quant.Net.Benchmarks.Kernels;

/// <summary>
/// 3×3 convolutions (pad 1, C→C channels, batch 1), one thread each: ResNet-style dense layers (stride 1) and
/// MobileNetV2-style depthwise layers ("dw" prefix; "s2" suffix for stride 2): ours FP32 and int8 (uint8 input, int8
/// per-channel weights, float output) against ONNX Runtime's FP32 Conv and its int8 QLinearConv (uint8 output) through
/// InferenceSession.
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

    /// <summary>Channels × height × width of the layer (ResNet-18 stages 1-3; depthwise layers of MobileNetV2).</summary>
    [Params("64x56x56", "128x28x28", "256x14x14", "dw144x56x56", "dw96x112x112s2")]
    public string Layer { get; set; } = "";

    private (int C, int H, int W, int Groups, int Stride) Dims
    {
        get
        {
            bool depthwise = Layer.StartsWith("dw", StringComparison.Ordinal);
            string spec = depthwise ? Layer[2..] : Layer;
            int stride = 1;
            if (spec.EndsWith("s2", StringComparison.Ordinal))
            {
                (spec, stride) = (spec[..^2], 2);
            }

            int[] d = spec.Split('x').Select(int.Parse).ToArray();
            return (d[0], d[1], d[2], depthwise ? d[0] : 1, stride);
        }
    }

    private int OutH => ((Dims.H - 1) / Dims.Stride) + 1;

    private int OutW => ((Dims.W - 1) / Dims.Stride) + 1;

    [GlobalSetup]
    public void Setup()
    {
        var (c, h, w, groups, stride) = Dims;
        int k = c / groups * 9, oh = OutH, ow = OutW;
        var random = new Random(3);
        _x = Enumerable.Range(0, c * h * w).Select(_ => (float)Math.Max(0, random.NextDouble() * 2 - 0.5)).ToArray();
        var weights = Enumerable.Range(0, c * k).Select(_ => (float)(random.NextDouble() - 0.5) * 0.1f).ToArray();
        var bias = Enumerable.Range(0, c).Select(_ => (float)(random.NextDouble() - 0.5) * 0.1f).ToArray();
        var shape = new Conv2dShape(c, c, 3, 3, groups, stride, stride, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1);
        _fp32 = Conv2d.CreateFloat(shape, weights, bias);
        var wEncoding = QuantEncoding.FromTensor(QuantScheme.Int8SymmetricPerChannel(0), weights, [c, k]);
        var wq = new sbyte[weights.Length];
        QuantOps.Quantize<sbyte>(weights, [c, k], wEncoding, wq);
        _int8 = Conv2d.CreateQuantized(shape, wq, wEncoding.Scales, wEncoding.ZeroPoints, bias);
        var xParams = QuantParams.FromRange(QuantScheme.UInt8Asymmetric, 0, 1.5f);
        _xq = new byte[_x.Length];
        QuantOps.Quantize(_x, _xq, xParams);
        _y = new float[c * oh * ow];
        long[] shapeX = [1, c, h, w], shapeY = [1, c, oh, ow];
        _ortFloat = new OrtSingleOp(OnnxModelBytes.Conv(c, c, h, w, 3, 1, weights, bias, stride, groups),
            OrtValue.CreateTensorValueFromMemory(_x, shapeX), OrtValue.CreateTensorValueFromMemory(new float[c * oh * ow], shapeY));
        int[] biasQ = bias.Select((b, i) => (int)Math.Round(b / (xParams.Scale * wEncoding.Scales[i]))).ToArray();
        _ortInt8 = new OrtSingleOp(OnnxModelBytes.QLinearConv(c, c, h, w, 3, 1, xParams.Scale, (byte)xParams.ZeroPoint, wq, wEncoding.Scales.ToArray(), biasQ, 0.05f, 128,
                stride, groups),
            OrtValue.CreateTensorValueFromMemory(_xq, shapeX), OrtValue.CreateTensorValueFromMemory(new byte[c * oh * ow], shapeY));
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
