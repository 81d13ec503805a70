using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using Quant.Net.Training;

namespace Quant.Net.Benchmarks.Training;

/// <summary>
/// Fake-quant forward and backward (LSQ, learning phase, per-tensor int8) against a plain FP32 elementwise pass over the
/// same data in the same run: ReLU forward (TensorPrimitives.Max) and ReLU backward (a masked copy of dy).
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByCategory)]
public class FakeQuantBenchmarks
{
    private float[] _x = [], _y = [], _dy = [], _dx = [];
    private FakeQuantizer? _quantizer;

    /// <summary>Elements per tensor.</summary>
    [Params(65_536, 4_194_304)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(3);
        _x = [.. Enumerable.Range(0, Length).Select(_ => (float)((random.NextDouble() * 2) - 1) * 3)];
        _dy = [.. Enumerable.Range(0, Length).Select(_ => (float)((random.NextDouble() * 2) - 1))];
        _y = new float[Length];
        _dx = new float[Length];
        _quantizer = new FakeQuantizer(new QuantScheme(8, true, false), RangeLearning.Lsq);
        _quantizer.Forward(_x, [Length], _y);
        _quantizer.StartLearning();
    }

    [Benchmark(Baseline = true, Description = "FP32 ReLU forward")]
    [BenchmarkCategory("forward")]
    public void ReluForward() => TensorPrimitives.Max(_x, 0f, _y);

    [Benchmark(Description = "FakeQuantizer.Forward")]
    [BenchmarkCategory("forward")]
    public void FakeQuantForward() => _quantizer!.Forward(_x, [Length], _y);

    [Benchmark(Baseline = true, Description = "FP32 ReLU backward")]
    [BenchmarkCategory("backward")]
    public void ReluBackward()
    {
        var x = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(_x.AsSpan());
        var dy = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(_dy.AsSpan());
        var dx = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(_dx.AsSpan());
        for (int i = 0; i < x.Length; i++)
        {
            dx[i] = System.Numerics.Vector.ConditionalSelect(System.Numerics.Vector.GreaterThan(x[i], System.Numerics.Vector<float>.Zero), dy[i], System.Numerics.Vector<float>.Zero);
        }
    }

    [Benchmark(Description = "FakeQuantizer.Backward (LSQ)")]
    [BenchmarkCategory("backward")]
    public void FakeQuantBackward() => _quantizer!.Backward(_x, [Length], _dy, _dx);
}
