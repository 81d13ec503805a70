using Quant.Net.Simd;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;

namespace Quant.Net.Benchmarks.Primitives;

/// <summary>
/// Quantize (float → uint8) and dequantize (uint8 → float) throughput: ours (best SIMD path of this machine, and the
/// scalar reference) against ONNX Runtime's QuantizeLinear/DequantizeLinear through an InferenceSession in the same
/// process, one thread each, at 4 KiB, 1 MiB and 64 MiB of float data.
/// </summary>
[MemoryDiagnoser(false)]
public class QuantizeLinearBenchmarks
{
    private const float Scale = 0.0123f;
    private const byte ZeroPoint = 131;

    private float[] _floats = [];
    private byte[] _codes = [];
    private float[] _floatsOut = [];
    private byte[] _codesOut = [];
    private OrtSingleOp? _ortQuantize;
    private OrtSingleOp? _ortDequantize;

    /// <summary>Size of the float tensor in KiB.</summary>
    [Params(4, 1024, 65536)]
    public int KiB { get; set; }

    private int Length => KiB * 1024 / sizeof(float);

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _floats = new float[Length];
        for (int i = 0; i < Length; i++) _floats[i] = (float)(random.NextDouble() * 6 - 3);
        _codes = new byte[Length];
        random.NextBytes(_codes);
        _floatsOut = new float[Length];
        _codesOut = new byte[Length];
        long[] shape = [Length];
        _ortQuantize = new OrtSingleOp(OnnxModelBytes.QuantizeLinear(Length, Scale, ZeroPoint, OnnxModelBytes.UInt8),
            OrtValue.CreateTensorValueFromMemory(_floats, shape), OrtValue.CreateTensorValueFromMemory(_codesOut, shape));
        _ortDequantize = new OrtSingleOp(OnnxModelBytes.DequantizeLinear(Length, Scale, ZeroPoint, OnnxModelBytes.UInt8),
            OrtValue.CreateTensorValueFromMemory(_codes, shape), OrtValue.CreateTensorValueFromMemory(_floatsOut, shape));

        // The baselines must compute what we compute, or the comparison means nothing.
        var ours = new byte[Length];
        QuantOps.Quantize(_floats, ours, Scale, ZeroPoint);
        _ortQuantize.Run();
        if (!ours.AsSpan().SequenceEqual(_codesOut)) throw new InvalidOperationException("ONNX Runtime's QuantizeLinear disagrees with Quant.Net.");
        var oursBack = new float[Length];
        QuantOps.Dequantize(_codes, oursBack, Scale, ZeroPoint);
        _ortDequantize.Run();
        if (!oursBack.AsSpan().SequenceEqual(_floatsOut)) throw new InvalidOperationException("ONNX Runtime's DequantizeLinear disagrees with Quant.Net.");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ortQuantize?.Dispose();
        _ortDequantize?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "ORT QuantizeLinear")]
    [BenchmarkCategory("Quantize")]
    public void OrtQuantize() => _ortQuantize!.Run();

    [Benchmark(Description = "Quant.Net Quantize")]
    [BenchmarkCategory("Quantize")]
    public void Quantize() => QuantOps.Quantize(_floats, _codesOut, Scale, ZeroPoint);

    [Benchmark(Description = "Quant.Net Quantize (scalar reference)")]
    [BenchmarkCategory("Quantize")]
    public void QuantizeScalar() => QuantOps.Quantize(SimdLevel.Scalar, _floats, _codesOut.AsSpan(), QuantParams.ForType<byte>(Scale, ZeroPoint));

    [Benchmark(Baseline = true, Description = "ORT DequantizeLinear")]
    [BenchmarkCategory("Dequantize")]
    public void OrtDequantize() => _ortDequantize!.Run();

    [Benchmark(Description = "Quant.Net Dequantize")]
    [BenchmarkCategory("Dequantize")]
    public void Dequantize() => QuantOps.Dequantize(_codes, _floatsOut, Scale, ZeroPoint);
}
