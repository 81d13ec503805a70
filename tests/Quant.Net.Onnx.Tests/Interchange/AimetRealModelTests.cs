using System.Diagnostics;
using FluentAssertions;
using Microsoft.ML.OnnxRuntime;
using Quant.Net.Cli;
using Quant.Net.Onnx.Tests.Corpus;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Interchange;

/// <summary>
/// The AIMET/QNN route on real models (the Fashion-MNIST CNN and ResNet-18 from its NuGet package) at W8A8, W4A8 and
/// W8A16, each case in one of the three encodings formats: the FP32 model + encodings pair re-imported gives back our
/// QDQ model byte for byte, and an independent reader (<c>tools/aimet_reader.py</c>: json, onnx and numpy, AIMET's
/// documented formulas) reproduces our fake-quant outputs.
/// </summary>
public sealed class AimetRealModelTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("quant-aimet-real-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly Dictionary<string, QuantizationConfig> Variants = new()
    {
        ["W8A8"] = new(),
        ["W4A8"] = new() { Weights = WeightType.Int4 },
        ["W8A16"] = new() { Activations = ActivationType.UInt16 },
    };

    public static TheoryData<string, string, AimetEncodingsVersion> Cases() => new()
    {
        { "fashion", "W8A8", AimetEncodingsVersion.Version100 },
        { "fashion", "W4A8", AimetEncodingsVersion.Version061 },
        { "fashion", "W8A16", AimetEncodingsVersion.Version200 },
        { "resnet18", "W8A8", AimetEncodingsVersion.Version200 },
        { "resnet18", "W4A8", AimetEncodingsVersion.Version100 },
        { "resnet18", "W8A16", AimetEncodingsVersion.Version061 },
    };

    private static (OnnxModel Model, ICalibrationDataSource Calibration, IReadOnlyList<IReadOnlyDictionary<string, InputTensor>> Evaluation) Workload(string name)
    {
        if (name == "fashion")
        {
            var images = DefaultModel.CalibrationImages();
            var test = DefaultModel.TestSet().Images;
            string input = DefaultModel.Load().Inputs[0].Name;
            return (DefaultModel.Load(), InMemoryCalibrationData.ForSingleInput(input, images.Take(32)),
                [.. test.Take(4).Select(t => (IReadOnlyDictionary<string, InputTensor>)new Dictionary<string, InputTensor> { [input] = t })]);
        }

        var resnet = CorpusModels.All.Single(m => m.Name == "resnet18") with { CalibrationSamples = 4 };
        return (resnet.Load(), resnet.Calibration, [resnet.Input(10)]);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_fp32_model_and_encodings_reproduce_our_model_and_an_independent_reader_our_outputs(string model, string variant, AimetEncodingsVersion version)
    {
        var (fp32, calibration, evaluation) = Workload(model);
        var config = Variants[variant];
        var result = OnnxQuantizer.Quantize(fp32, calibration, config);
        string modelPath = Path.Combine(_dir, "model.onnx"), encodingsPath = Path.Combine(_dir, "model.encodings");
        AimetExport.Save(result, modelPath, encodingsPath, version);
        if (Environment.GetEnvironmentVariable("QUANTNET_KEEP") is { Length: > 0 } keep)
        {
            result.Model.Save(Path.Combine(keep, $"{model}-{variant}-qdq.onnx"));
            File.Copy(modelPath, Path.Combine(keep, $"{model}-{variant}-fp32.onnx"), true);
            File.Copy(encodingsPath, Path.Combine(keep, $"{model}-{variant}.encodings"), true);
        }

        // 1. Re-importing the encodings onto the FP32 model we exported gives back our QDQ model byte for byte, but for
        //    int32 bias codes beyond float32's 24-bit significand (16-bit activations make codes of 2^25 and more): the
        //    FP32 file carries those to within |q|·2^−24 codes, as any float32 model does.
        var exported = OnnxModel.Load(modelPath);
        var again = OnnxQuantizer.Quantize(exported, calibrationData: null, config, AimetEncodingsFile.ForModel(AimetEncodingsFile.Load(encodingsPath), exported, config));
        int inexact = SameModel(again.Model, result.Model, $"{model} {variant} through encodings {version}");
        output.WriteLine($"{model} {variant} {version}: re-imported model equal{(inexact > 0 ? $" but for {inexact} int32 bias code(s) beyond 2^24" : " byte for byte")}");

        // 2. The independent reader applies the encodings to the FP32 model with AIMET's formulas; the result equals our
        //    QDQ model evaluated by the same reader (ONNX's Q/DQ semantics) bit for bit, and ONNX Runtime's run of our
        //    model up to float summation order. In a deep 8-bit network that order alone flips roundings that cascade
        //    (the reader in float32 against float64 sums: 32.6 dB on ResNet-18 W8A8), so the bound is that this noise
        //    stays at least 3 dB below the quantization error itself.
        string python = Python.Find() ?? NoPython();
        string outputName = result.Model.Outputs[0].Name;
        for (int s = 0; s < evaluation.Count; s++)
        {
            var sample = evaluation[s];
            var inputs = new List<string>();
            foreach (var (name, tensor) in sample)
            {
                string npy = Path.Combine(_dir, $"{s}-{name}.npy");
                NpyFile.Write(npy, (float[])tensor.Data, [.. tensor.Shape]);
                inputs.AddRange(["--input", $"{name}={npy}"]);
            }

            float[] Reader(string onnx, string encodings, string folder)
            {
                var (code, text) = Python.Run(python, [Python.Reader, onnx, encodings, .. inputs, "--output-dir", Path.Combine(_dir, folder)]);
                code.Should().Be(0, text);
                return (float[])NpyFile.Read(Path.Combine(_dir, folder, "output_0.npy")).Data;
            }

            string qdqPath = Path.Combine(_dir, "qdq.onnx");
            result.Model.Save(qdqPath);
            var aimet = Reader(modelPath, encodingsPath, $"aimet{s}");
            var qdq = Reader(qdqPath, "-", $"qdq{s}");
            aimet.Should().Equal(qdq, $"{model} {variant} {version}: AIMET's formulas on the FP32 model are our QDQ model");

            float[] Ort(OnnxModel m) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(
                OrtExact.Run(m.ToBytes(), sample, [outputName], GraphOptimizationLevel.ORT_DISABLE_ALL)[outputName].Bytes).ToArray();
            var ours = Ort(result.Model);
            double noise = Sqnr(ours, aimet), quantization = Sqnr(Ort(fp32), ours);
            output.WriteLine($"{model} {variant} {version} sample {s}: reader vs ONNX Runtime {noise:F1} dB; FP32 vs quantized {quantization:F1} dB");
            noise.Should().BeGreaterThan(quantization + 3, "the reader and ONNX Runtime differ only by float summation order, less than FP32 and the quantized model do");
        }
    }

    private static double Sqnr(float[] reference, float[] other)
    {
        reference.Should().HaveCount(other.Length);
        double signal = 0, error = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            signal += (double)reference[i] * reference[i];
            error += ((double)reference[i] - other[i]) * ((double)reference[i] - other[i]);
        }

        return error == 0 ? double.PositiveInfinity : 10 * Math.Log10(signal / error);
    }

    /// <summary>
    /// Asserts two QDQ models are the same: byte for byte, or equal but for int32 codes beyond 2^24 that differ by at most
    /// |q|·2^−24 + 1 (what a float32 bias can carry); returns how many codes differ.
    /// </summary>
    private static int SameModel(OnnxModel actual, OnnxModel expected, string because)
    {
        if (actual.ToBytes().AsSpan().SequenceEqual(expected.ToBytes()))
        {
            return 0;
        }

        var a = actual.Graph.Clone();
        var e = expected.Graph.Clone();
        int differ = 0;
        foreach (var (x, y) in a.Initializer.Zip(e.Initializer))
        {
            x.Name.Should().Be(y.Name, because);
            if (x.Equals(y))
            {
                continue;
            }

            x.DataType.Should().Be((int)Protobuf.TensorProto.Types.DataType.Int32, $"{because}: only int32 biases may differ ({x.Name})");
            var (qa, qe) = (TensorData.ToInt64(x), TensorData.ToInt64(y));
            for (int i = 0; i < qa.Length; i++)
            {
                if (qa[i] != qe[i])
                {
                    differ++;
                    Math.Abs(qe[i]).Should().BeGreaterThan(1 << 24, $"{because}: {x.Name}[{i}] fits float32 exactly");
                    Math.Abs(qa[i] - qe[i]).Should().BeLessThanOrEqualTo((Math.Abs(qe[i]) >> 24) + 1, $"{because}: {x.Name}[{i}]");
                }
            }

            x.RawData = Google.Protobuf.ByteString.Empty;
            y.RawData = Google.Protobuf.ByteString.Empty;
            x.Int32Data.Clear();
            y.Int32Data.Clear();
        }

        a.Initializer.Count.Should().Be(e.Initializer.Count, because);
        a.Equals(e).Should().BeTrue($"{because}: the graphs are the same but for those codes");
        return differ;
    }

    private static string NoPython()
    {
        if (Environment.GetEnvironmentVariable("QUANTNET_REQUIRE_PYTHON") == "1")
        {
            throw new InvalidOperationException("python3 with onnx and numpy is required (QUANTNET_REQUIRE_PYTHON=1): apt-get install python3-onnx python3-numpy");
        }

        Assert.Skip("python3 with onnx and numpy is not on this machine (CI installs Debian's python3-onnx)");
        return "";
    }

    /// <summary>Finds a Python with onnx and numpy and runs the reader.</summary>
    private static class Python
    {
        public static string Reader => Path.Combine(AppContext.BaseDirectory, "tools", "aimet_reader.py");

        private static readonly Lazy<string?> Found = new(() =>
            new[] { Environment.GetEnvironmentVariable("QUANTNET_PYTHON"), "python3", "/usr/bin/python3" }
                .FirstOrDefault(p => !string.IsNullOrEmpty(p) && Works(p!)));

        public static string? Find() => Found.Value;

        private static bool Works(string python)
        {
            try
            {
                return Run(python, ["-c", "import onnx, numpy"]).Code == 0;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return false;
            }
        }

        public static (int Code, string Output) Run(string python, IEnumerable<string> args)
        {
            var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args)
            {
                start.ArgumentList.Add(a);
            }

            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            string stdout = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(600_000))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("the independent reader did not finish in 10 minutes");
            }

            return (process.ExitCode, stdout + stderr.Result);
        }
    }
}
