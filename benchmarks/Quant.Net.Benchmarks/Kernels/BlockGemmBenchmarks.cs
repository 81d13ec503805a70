using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using Quant.Net.Kernels;
using Quant.Net.Onnx;

namespace Quant.Net.Benchmarks.Kernels;

/// <summary>
/// Weight-only int4 (blocks of 32, symmetric) decode GEMV and small-M GEMM, same packed weights everywhere: ours in
/// both modes against ONNX Runtime's MatMulNBits at accuracy level 0 (float) and 4 (int8 activations), against our FP32
/// GEMV and ORT's FP32 MatMul. Shapes are LLM projections (K×N): 4096×4096 and 4096×11008.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class BlockGemmBenchmarks
{
    private float[] _x = [];
    private float[] _y = [];
    private BlockQuantizedWeights? _w4;
    private PackedFloatWeights? _w32;
    private OrtSingleOp? _ortLevel0;
    private OrtSingleOp? _ortLevel4;
    private OrtSingleOp? _ortFloat;

    /// <summary>K×N of the weight.</summary>
    [Params("4096x4096", "4096x11008")]
    public string Weight { get; set; } = "";

    /// <summary>Rows of activations: 1 (decode) or 8 (a prefill chunk / small batch).</summary>
    [Params(1, 8)]
    public int M { get; set; }

    /// <summary>Threads for every contender.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    private (int K, int N) Dims => Weight.Split('x').Select(int.Parse).ToArray() is [var k, var n] ? (k, n) : default;

    [GlobalSetup]
    public void Setup()
    {
        var (k, n) = Dims;
        var random = new Random(11);
        var w = new float[k * n];
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = (float)((random.NextDouble() + random.NextDouble() + random.NextDouble() - 1.5) * 0.05);
        }

        _x = [.. Enumerable.Range(0, M * k).Select(_ => (float)((random.NextDouble() * 2) - 1))];
        _y = new float[M * n];
        var model = OnnxModel.FromBytes(OnnxModelBytes.MatMul(M, k, n, w));
        var blocks = new BlockQuantizationOptions { Bits = 4, BlockSize = 32, Symmetric = true };
        var level0 = WeightOnlyQuantizer.Quantize(model, new WeightOnlyOptions { Blocks = blocks, AccuracyLevel = 0 });
        // The same packed weights at accuracy level 4: only the node attribute differs.
        var level4 = level0.Model.Clone();
        level4.Proto.Graph.Node.Single(nd => nd.OpType == "MatMulNBits").Attribute.Single(a => a.Name == "accuracy_level").I = 4;
        _w4 = level0.Weights.Values.Single();
        _w32 = PackedFloatWeights.Pack(w, k, n, WeightLayout.KByN);
        long[] xShape = [M, k], yShape = [M, n];
        _ortLevel0 = new OrtSingleOp(level0.Model.ToBytes(), OrtValue.CreateTensorValueFromMemory(_x, xShape), OrtValue.CreateTensorValueFromMemory(new float[M * n], yShape), Threads);
        _ortLevel4 = new OrtSingleOp(level4.ToBytes(), OrtValue.CreateTensorValueFromMemory(_x, xShape), OrtValue.CreateTensorValueFromMemory(new float[M * n], yShape), Threads);
        _ortFloat = new OrtSingleOp(model.ToBytes(), OrtValue.CreateTensorValueFromMemory(_x, xShape), OrtValue.CreateTensorValueFromMemory(new float[M * n], yShape), Threads);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ortLevel0?.Dispose();
        _ortLevel4?.Dispose();
        _ortFloat?.Dispose();
    }

    [Benchmark(Description = "Quant.Net int4, float activations")]
    public void OursFloat() => BlockGemm.Multiply(_x, M, _w4!, [], _y, BlockGemmMode.FloatActivations, Threads);

    [Benchmark(Description = "ORT MatMulNBits level 0")]
    public void OrtLevel0() => _ortLevel0!.Run();

    [Benchmark(Description = "Quant.Net int4, int8 activations")]
    public void OursInt8() => BlockGemm.Multiply(_x, M, _w4!, [], _y, BlockGemmMode.Int8Activations, Threads);

    /// <summary>Integer mode on a lower path than the best (for the quick comparison command).</summary>
    internal void OursInt8On(Simd.BlockGemmPath path) =>
        BlockGemm.Multiply(_x, M, _w4!, [], _y, BlockGemmMode.Int8Activations, Threads, path, Simd.IsaConfig.Best.Elementwise);

    [Benchmark(Description = "ORT MatMulNBits level 4")]
    public void OrtLevel4() => _ortLevel4!.Run();

    [Benchmark(Baseline = true, Description = "Quant.Net FP32")]
    public void OursFp32() => Fp32Gemm.Multiply(_x, M, _w32!, [], _y, OutputClamp.None, Threads);

    [Benchmark(Description = "ORT FP32 MatMul")]
    public void OrtFloat() => _ortFloat!.Run();
}
