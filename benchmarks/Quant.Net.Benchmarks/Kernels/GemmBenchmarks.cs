using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using Quant.Net.Kernels;

namespace Quant.Net.Benchmarks.Kernels;

/// <summary>
/// One GEMM shape, four ways in the same run: ours int8 (u8×s8 → int32), ONNX Runtime's MatMulInteger (u8×s8, through
/// an InferenceSession with pre-bound buffers), ours FP32 and ONNX Runtime's FP32 MatMul — with 1 and 2 threads each.
/// Shapes: 1024³, the transformer FFN 128×768×3072 and the GEMV 1×4096×4096 (M×K×N).
/// </summary>
public class GemmBenchmarks
{
    private byte[] _a8 = [];
    private float[] _a32 = [];
    private int[] _c8 = [];
    private float[] _c32 = [];
    private PackedInt8Weights? _b8;
    private PackedFloatWeights? _b32;
    private OrtSingleOp? _ortInt8;
    private OrtSingleOp? _ortFloat;

    /// <summary>M×K×N.</summary>
    [Params("1024x1024x1024", "128x768x3072", "1x4096x4096")]
    public string Shape { get; set; } = "";

    /// <summary>Threads for every contender (ours and ONNX Runtime's intra-op pool).</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    private (int M, int K, int N) Dims
    {
        get
        {
            int[] d = Shape.Split('x').Select(int.Parse).ToArray();
            return (d[0], d[1], d[2]);
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        var (m, k, n) = Dims;
        var random = new Random(7);
        _a8 = new byte[m * k];
        random.NextBytes(_a8);
        var b8 = new sbyte[k * n];
        random.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(b8.AsSpan()));
        _a32 = _a8.Select(v => (v - 128) / 64f).ToArray();
        var b32 = b8.Select(v => v / 64f).ToArray();
        _c8 = new int[m * n];
        _c32 = new float[m * n];
        _b8 = PackedInt8Weights.Pack(b8, k, n, WeightLayout.KByN, [], []);
        _b32 = PackedFloatWeights.Pack(b32, k, n, WeightLayout.KByN);
        long[] aShape = [m, k], cShape = [m, n];
        var ortC8 = new int[m * n];
        var ortC32 = new float[m * n];
        _ortInt8 = new OrtSingleOp(OnnxModelBytes.MatMulInteger(m, k, n, b8, 128),
            OrtValue.CreateTensorValueFromMemory(_a8, aShape), OrtValue.CreateTensorValueFromMemory(ortC8, cShape), Threads);
        _ortFloat = new OrtSingleOp(OnnxModelBytes.MatMul(m, k, n, b32),
            OrtValue.CreateTensorValueFromMemory(_a32, aShape), OrtValue.CreateTensorValueFromMemory(ortC32, cShape), Threads);

        // Same inputs, same answers: int8 exactly, FP32 within rounding.
        OursInt8();
        _ortInt8.Run();
        if (!_c8.AsSpan().SequenceEqual(ortC8)) throw new InvalidOperationException("MatMulInteger disagrees with Int8Gemm.");
        OursFp32();
        _ortFloat.Run();
        for (int i = 0; i < _c32.Length; i++)
        {
            if (Math.Abs(_c32[i] - ortC32[i]) > 1e-3f * (1 + Math.Abs(ortC32[i]))) throw new InvalidOperationException($"MatMul disagrees with Fp32Gemm at {i}.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ortInt8?.Dispose();
        _ortFloat?.Dispose();
    }

    [Benchmark(Description = "Quant.Net int8")]
    public void OursInt8() => Int8Gemm.Multiply(_a8, Dims.M, 128, _b8!, _c8, Threads);

    [Benchmark(Description = "ORT MatMulInteger")]
    public void OrtInt8() => _ortInt8!.Run();

    [Benchmark(Description = "Quant.Net FP32")]
    public void OursFp32() => Fp32Gemm.Multiply(_a32, Dims.M, _b32!, [], _c32, OutputClamp.None, Threads);

    [Benchmark(Baseline = true, Description = "ORT FP32 MatMul")]
    public void OrtFloat() => _ortFloat!.Run();
}
