using BenchmarkDotNet.Attributes;
using Quant.Net.Onnx;

namespace Quant.Net.Benchmarks.Onnx;

/// <summary>
/// ResNet-18 batch-1 latency in ONNX Runtime: the FP32 model (baseline) against our W8A8 QDQ model, which ORT fuses
/// into QLinearConv etc., quantized for each deployment target (the arithmetic of this host decides which kernels run;
/// the summary names it). Same input, same session options, 1 and 2 intra-op threads.
/// </summary>
[MemoryDiagnoser(false)]
public class ResNet18Benchmarks
{
    private ModelRunner _fp32 = null!;
    private ModelRunner _int8 = null!;
    private Dictionary<string, InputTensor> _input = null!;

    [Params(1, 2)]
    public int Threads { get; set; }

    [Params(DeploymentTarget.Portable, DeploymentTarget.X86Vnni)]
    public DeploymentTarget Target { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var model = OnnxModel.Load(RealModels.ResNet18Path);
        var (calibration, evaluation) = RealModels.ResNetInputs(cropsPerPhoto: 4);
        string name = model.Inputs[0].Name;
        var result = OnnxQuantizer.Quantize(model, InMemoryCalibrationData.ForSingleInput(name, calibration), new QuantizationConfig { Target = Target });
        Console.WriteLine($"// host int8 path: {Int8Host.Description}; target {DeploymentTargets.NameOf(Target)}");
        _fp32 = new ModelRunner(model, Threads);
        _int8 = new ModelRunner(result.Model, Threads);
        _input = new Dictionary<string, InputTensor> { [name] = evaluation[0] };
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _fp32.Dispose();
        _int8.Dispose();
    }

    [Benchmark(Baseline = true, Description = "ORT FP32")]
    public object Fp32() => _fp32.Run(_input);

    [Benchmark(Description = "ORT INT8 (Quant.Net QDQ)")]
    public object Quantized() => _int8.Run(_input);
}
