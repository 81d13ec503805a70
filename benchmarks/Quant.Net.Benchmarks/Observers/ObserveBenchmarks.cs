using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using Quant.Net.Observers;

namespace Quant.Net.Benchmarks.Observers;

/// <summary>
/// Observe throughput: MinMax (one fused pass) against the baseline TensorPrimitives.Min + TensorPrimitives.Max over
/// the same data, and the histogram observers' cost (all histogram observers share the same Observe).
/// </summary>
public class ObserveBenchmarks
{
    private float[] _data = [];
    private readonly MinMaxObserver _minMax = new();
    private readonly HistogramMseObserver _histogram = new();

    /// <summary>Size of the observed tensor in KiB.</summary>
    [Params(1024, 65536)]
    public int KiB { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(3);
        _data = new float[KiB * 1024 / sizeof(float)];
        for (int i = 0; i < _data.Length; i++) _data[i] = (float)(random.NextDouble() * 8 - 4);
    }

    [Benchmark(Baseline = true, Description = "TensorPrimitives.Min + Max")]
    public float Baseline() => TensorPrimitives.Min(_data) + TensorPrimitives.Max(_data);

    [Benchmark(Description = "MinMaxObserver.Observe")]
    public void MinMax() => _minMax.Observe(_data);

    [Benchmark(Description = "histogram observer Observe (MSE/entropy/SQNR/percentile)")]
    public void Histogram() => _histogram.Observe(_data);
}
