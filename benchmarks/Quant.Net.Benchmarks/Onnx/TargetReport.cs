using System.Diagnostics;
using System.Globalization;
using Quant.Net.Onnx;

namespace Quant.Net.Benchmarks.Onnx;

/// <summary>
/// `dotnet run -c Release -- target-report`: W8A8 accuracy per deployment target under both kinds of int8 arithmetic,
/// on any host: exact int32 accumulation (x86 VNNI, ARM64) and ONNX Runtime's x86 AVX2 kernels without VNNI, simulated
/// (saturating u8×s8 pair sums). Rows: the full-range weights of the x86-vnni target, ONNX Runtime's reduce-range remedy
/// (7-bit weights, |q| ≤ 64) and our pair-safe portable default. Fashion-MNIST CNN on the full 10k test set; ResNet-18
/// feature cosine to FP32 on held-out crops.
/// </summary>
internal static class TargetReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Run()
    {
        Console.WriteLine($"host: {Int8Host.Description}");
        FashionMnist();
        ResNet18();
    }

    /// <summary>
    /// `-- target-host`: the same models with this host's ONNX Runtime only (Host arithmetic): run it on an AVX2 host, or
    /// under `qemu-x86_64 -cpu Haswell`, to check the simulated column against ONNX Runtime's real kernels.
    /// </summary>
    public static void RunHost()
    {
        Console.WriteLine($"host: {Int8Host.Description}");
        var model = Quant.Net.Cli.DefaultModel.Load();
        var (train, _) = RealModels.FashionMnist(train: true, count: 1000);
        var (test, labels) = RealModels.FashionMnist(train: false);
        var calibration = InMemoryCalibrationData.ForSingleInput("image", train);
        foreach (var (name, quantize) in Variants())
        {
            var result = quantize(model, calibration);
            Console.WriteLine($"Fashion-MNIST | {name} | host {Accuracy(result.Model, test, labels, Int8Arithmetic.Host).ToString("F2", Inv)}%");
        }

        var resnet = OnnxModel.Load(RealModels.ResNet18Path);
        var (crops, evaluation) = RealModels.ResNetInputs();
        string input = resnet.Inputs[0].Name;
        List<float[]> reference;
        using (var fp32 = new ModelRunner(resnet))
        {
            reference = [.. evaluation.Select(x => fp32.Run(new Dictionary<string, InputTensor> { [input] = x }).First().Value.Data)];
        }

        foreach (var (name, quantize) in Variants())
        {
            var result = quantize(resnet, InMemoryCalibrationData.ForSingleInput(input, crops));
            Console.WriteLine($"ResNet-18 | {name} | host {Score(result.Model, Int8Arithmetic.Host, evaluation, reference, input)}");
        }
    }

    private static IEnumerable<(string Name, Func<OnnxModel, ICalibrationDataSource, QuantizationResult> Quantize)> Variants() =>
    [
        ("x86-vnni (full-range int8 weights)", (m, c) => OnnxQuantizer.Quantize(m, c, new QuantizationConfig { Target = DeploymentTarget.X86Vnni })),
        ("reduce-range (7-bit weights, ONNX Runtime's remedy)", ReduceRange),
        ("portable = x86-avx2 (pair-safe scales, default)", (m, c) => OnnxQuantizer.Quantize(m, c, new QuantizationConfig { Target = DeploymentTarget.Portable })),
    ];

    /// <summary>ONNX Runtime's reduce_range for int8 weights: scale = max|w| / 64 per channel (codes within ±64).</summary>
    private static QuantizationResult ReduceRange(OnnxModel model, ICalibrationDataSource calibration)
    {
        // The weights' names and schemes come from the plan of the prepared model (no calibration needed for that).
        var config = new QuantizationConfig { Target = DeploymentTarget.X86Vnni };
        var (prepared, _) = ModelPreparer.Prepare(model, OnnxQuantizer.RequiredOpset(config));
        var initializers = prepared.Graph.Initializer.ToDictionary(i => i.Name);
        var fixedEncodings = new Dictionary<string, QuantEncoding>();
        foreach (var t in QuantizationPlan.Build(prepared, config).Tensors.Where(t => t.Role == TensorRole.Weight))
        {
            var init = initializers[t.Name];
            var data = TensorData.ToFloats(init);
            var plain = QuantEncoding.FromTensor(t.Scheme, data, TensorData.Shape(init));
            var max = new float[plain.Count];
            for (int c = 0; c < max.Length; c++)
            {
                max[c] = Math.Max(Math.Abs(plain.Min[c]), Math.Abs(plain.Max[c])) * 127f / 64f;
            }

            fixedEncodings[t.Name] = QuantEncoding.FromRanges(t.Scheme, [.. max.Select(m => -m)], max);
        }

        return OnnxQuantizer.Quantize(model, calibration, config, fixedEncodings);
    }

    private static void FashionMnist()
    {
        var model = Quant.Net.Cli.DefaultModel.Load();
        var (train, _) = RealModels.FashionMnist(train: true, count: 1000);
        var (test, labels) = RealModels.FashionMnist(train: false);
        var calibration = InMemoryCalibrationData.ForSingleInput("image", train);
        double fp32 = Accuracy(model, test, labels, Int8Arithmetic.Exact);
        Console.WriteLine($"Fashion-MNIST CNN (shipped), W8A8 per-channel MinMax, top-1 on the full test set ({test.Count} images), FP32 {fp32.ToString("F2", Inv)}%;");
        Console.WriteLine("calibration: first 1000 training images");
        Console.WriteLine("| encodings | exact int32 (VNNI, ARM64) | x86 AVX2 without VNNI (simulated) | saturable weight tensors |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (var (name, quantize) in Variants())
        {
            var result = quantize(model, calibration);
            double exact = Accuracy(result.Model, test, labels, Int8Arithmetic.Exact);
            double avx2 = Accuracy(result.Model, test, labels, Int8Arithmetic.X86Avx2Saturating);
            Console.WriteLine($"| {name} | {exact.ToString("F2", Inv)}% ({(exact - fp32).ToString("+0.00;-0.00", Inv)}) | {avx2.ToString("F2", Inv)}% ({(avx2 - fp32).ToString("+0.00;-0.00", Inv)}) | "
                + $"{SaturatingPairSimulation.SaturableWeights(result.Model).Count} of {result.Encodings.Count(e => e.Tensor.Role == TensorRole.Weight)} |");
        }

        Console.WriteLine();
    }

    private static void ResNet18()
    {
        var model = OnnxModel.Load(RealModels.ResNet18Path);
        var (calibration, evaluation) = RealModels.ResNetInputs();
        string input = model.Inputs[0].Name;
        List<float[]> reference;
        using (var fp32 = new ModelRunner(model))
        {
            reference = [.. evaluation.Select(x => fp32.Run(new Dictionary<string, InputTensor> { [input] = x }).First().Value.Data)];
        }

        Console.WriteLine($"ResNet-18 (CNTK), W8A8 per-channel MinMax, feature cosine / SQNR vs FP32 over {evaluation.Count} held-out crops; calibration {calibration.Count} crops");
        Console.WriteLine("| encodings | exact int32 (VNNI, ARM64) | x86 AVX2 without VNNI (simulated) | saturable weight tensors |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (var (name, quantize) in Variants())
        {
            var result = quantize(model, InMemoryCalibrationData.ForSingleInput(input, calibration));
            var sw = Stopwatch.StartNew();
            string exact = Score(result.Model, Int8Arithmetic.Exact, evaluation, reference, input);
            string avx2 = Score(result.Model, Int8Arithmetic.X86Avx2Saturating, evaluation, reference, input);
            Console.WriteLine($"| {name} | {exact} | {avx2} | {SaturatingPairSimulation.SaturableWeights(result.Model).Count} of {result.Encodings.Count(e => e.Tensor.Role == TensorRole.Weight)} |");
            Console.Error.WriteLine($"  ({name}: evaluated in {sw.Elapsed.TotalSeconds:F0} s)");
        }
    }

    private static string Score(OnnxModel model, Int8Arithmetic arithmetic, List<InputTensor> samples, List<float[]> reference, string input)
    {
        using var runner = new ModelRunner(model, 0, arithmetic: arithmetic);
        double dot = 0, na = 0, nb = 0, noise = 0;
        for (int i = 0; i < samples.Count; i++)
        {
            var y = runner.Run(new Dictionary<string, InputTensor> { [input] = samples[i] }).First().Value.Data;
            for (int j = 0; j < y.Length; j++)
            {
                double a = reference[i][j], b = y[j];
                dot += a * b;
                na += a * a;
                nb += b * b;
                noise += (a - b) * (a - b);
            }
        }

        return $"{(dot / Math.Sqrt(na * nb)).ToString("F5", Inv)} / {(10 * Math.Log10(na / noise)).ToString("F1", Inv)} dB";
    }

    private static double Accuracy(OnnxModel model, List<InputTensor> images, byte[] labels, Int8Arithmetic arithmetic) =>
        ModelComparer.Top1Accuracy(model, images, [.. labels.Select(l => (int)l)],
            batchSize: arithmetic == Int8Arithmetic.X86Avx2Saturating ? 16 : 500, arithmetic: arithmetic);   // the simulation materializes pair products
}
