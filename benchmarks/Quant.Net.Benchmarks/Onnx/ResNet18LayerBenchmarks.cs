using BenchmarkDotNet.Attributes;
using Quant.Net.Kernels;
using Quant.Net.Onnx;

namespace Quant.Net.Benchmarks.Onnx;

/// <summary>
/// ResNet-18 (the NuGet featurizer model, batch 1) four ways in the same run: Quant.Net's own layers in FP32 (the
/// baseline: <see cref="Conv2d"/>, <see cref="Fp32Gemm"/>) and INT8 (<see cref="Quant.Net.Layers.QuantizedConv2d"/>,
/// <see cref="Quant.Net.Layers.QuantizedLinear"/>, static input encodings calibrated on held-out crops) — what a .NET app
/// gets without ONNX Runtime — against ONNX Runtime running the FP32 model and our W8A8 QDQ model (which it fuses into
/// QLinearConv). 1 and 2 threads for every contender (our calls on a <see cref="KernelThreadPool"/> of that size).
/// </summary>
[MemoryDiagnoser(false)]
public class ResNet18LayerBenchmarks
{
    private LayerNetwork _fp32 = null!;
    private LayerNetwork _int8 = null!;
    private ModelRunner _ortFp32 = null!;
    private ModelRunner _ortInt8 = null!;
    private KernelThreadPool _pool = null!;
    private Dictionary<string, InputTensor> _input = null!;
    private float[] _image = [];

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var model = OnnxModel.Load(RealModels.ResNet18Path);
        var (calibration, evaluation) = RealModels.ResNetInputs(cropsPerPhoto: 4);
        string name = model.Inputs[0].Name;
        var prepared = ModelPreparer.Prepare(model).Model;
        _fp32 = LayerNetwork.Float(prepared);
        _int8 = LayerNetwork.Int8(prepared, calibration.Select(c => c.AsSpan<float>().ToArray()));
        var qdq = OnnxQuantizer.Quantize(model, InMemoryCalibrationData.ForSingleInput(name, calibration), new QuantizationConfig()).Model;
        _ortFp32 = new ModelRunner(model, Threads);
        _ortInt8 = new ModelRunner(qdq, Threads);
        _pool = new KernelThreadPool(Threads - 1);
        _input = new Dictionary<string, InputTensor> { [name] = evaluation[0] };
        _image = evaluation[0].AsSpan<float>().ToArray();
        var (fp32Error, int8Cosine, ortInt8Cosine) = LayerNetworkCheck.Compare(_fp32, _int8, _ortFp32, _ortInt8, name, evaluation);
        Console.WriteLine($"// {_fp32.Layers} layers on Quant.Net kernels; our FP32 vs ORT FP32: max |Δ| / max |y| = {fp32Error:E2}; " +
            $"feature cosine vs FP32 on {evaluation.Count} crops: our INT8 {int8Cosine:F5}, ORT INT8 (our QDQ) {ortInt8Cosine:F5}; host int8 path: {Int8Host.Description}");
        if (fp32Error > 1e-4) throw new InvalidOperationException($"Our FP32 network disagrees with ONNX Runtime: {fp32Error:E2}.");
    }

    /// <summary>Prints each step's time in both networks (the report command's PROFILE=1).</summary>
    internal void Profile()
    {
        var fp32 = _fp32.Profile(_image, 10, Threads);
        var int8 = _int8.Profile(_image, 10, Threads);
        for (int i = 0; i < fp32.Count; i++) Console.WriteLine($"{fp32[i].Step,-40} FP32 {fp32[i].Milliseconds,7:F3} ms  INT8 {int8[i].Milliseconds,7:F3} ms");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ortFp32.Dispose();
        _ortInt8.Dispose();
        _pool.Dispose();
    }

    [Benchmark(Baseline = true, Description = "Quant.Net FP32 layers")]
    public float[] OursFp32() => _fp32.Run(_image, Threads, _pool);

    [Benchmark(Description = "Quant.Net INT8 layers")]
    public float[] OursInt8() => _int8.Run(_image, Threads, _pool);

    [Benchmark(Description = "ORT FP32")]
    public object OrtFp32() => _ortFp32.Run(_input);

    [Benchmark(Description = "ORT INT8 (Quant.Net QDQ)")]
    public object OrtInt8() => _ortInt8.Run(_input);
}

/// <summary>Accuracy of the layer networks against ONNX Runtime, printed with the benchmark and by the report command.</summary>
internal static class LayerNetworkCheck
{
    /// <summary>Our FP32 network's largest deviation from ORT FP32 (relative to the output's largest magnitude), and the mean feature cosine vs ORT FP32 of our INT8 network and of ORT running our QDQ model.</summary>
    public static (double Fp32Error, double Int8Cosine, double OrtInt8Cosine) Compare(LayerNetwork fp32, LayerNetwork int8, ModelRunner ortFp32, ModelRunner ortInt8,
        string inputName, IReadOnlyList<InputTensor> images)
    {
        double worst = 0, cosine = 0, ortCosine = 0;
        foreach (var image in images)
        {
            var feed = new Dictionary<string, InputTensor> { [inputName] = image };
            float[] reference = [.. ortFp32.Run(feed).Values.First().Data];
            float[] ours = fp32.Run(image.AsSpan<float>(), 1);
            float scale = System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(reference);
            for (int i = 0; i < reference.Length; i++) worst = Math.Max(worst, Math.Abs(ours[i] - reference[i]) / scale);
            cosine += System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(int8.Run(image.AsSpan<float>(), 1), reference);
            ortCosine += System.Numerics.Tensors.TensorPrimitives.CosineSimilarity([.. ortInt8.Run(feed).Values.First().Data], reference);
        }

        return (worst, cosine / images.Count, ortCosine / images.Count);
    }
}
