using System.Globalization;
using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Cli;

public sealed class QuantizeCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qn-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Output) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void With_no_arguments_it_quantizes_the_shipped_model_and_compares_with_fp32()
    {
        var (code, output) = Run("quantize", "--output", Path.Combine(_dir, "fashion.int8.onnx"), "--encodings", Path.Combine(_dir, "fashion.encodings"));

        code.Should().Be(0, output);
        output.Should().Contain("3 BatchNorm folded").And.Contain("model size").And.Contain("latency").And.Contain("where the error enters");
        string row = output.Split('\n').Single(l => l.Contains("top-1 accuracy", StringComparison.Ordinal));
        var cells = row.Split('│', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        double fp32 = double.Parse(cells[1].TrimEnd('%'), CultureInfo.InvariantCulture), int8 = double.Parse(cells[2].TrimEnd('%'), CultureInfo.InvariantCulture);
        fp32.Should().BeGreaterThan(90);
        int8.Should().BeGreaterThan(fp32 - 1.0, "W8A8 stays within a point of FP32 on the 500 shipped test images");
        OnnxModel.Load(Path.Combine(_dir, "fashion.int8.onnx")).Nodes.Should().Contain(n => n.OpType == "QuantizeLinear");
        AimetEncodingsFile.Load(Path.Combine(_dir, "fashion.encodings")).Should().NotBeEmpty();
    }

    [Fact]
    public void Non_strict_symmetric_weights_and_encodings_2_0_0_come_from_the_command_line()
    {
        string encodings = Path.Combine(_dir, "fashion.v2.encodings");
        var (code, output) = Run("quantize", "--output", Path.Combine(_dir, "fashion.full.onnx"), "--weight-symmetry", "non-strict",
            "--encodings", encodings, "--encodings-version", "2.0.0", "--eval-samples", "0");
        code.Should().Be(0, output);
        output.Should().Contain("AIMET encodings 2.0.0");
        var entries = AimetEncodingsFile.Load(encodings);
        entries.Where(e => e.IsSigned && e.IsSymmetric).Should().NotBeEmpty().And.OnlyContain(e => e.Offsets.All(o => o == -128) && !e.IsStrictSymmetric);
        Run("quantize", "--weight-symmetry", "loose").Code.Should().Be(2);
    }

    [Fact]
    public void An_aimet_htp_config_quantizes_the_shipped_model_and_the_keys_not_applied_are_listed()
    {
        string config = Path.Combine(AppContext.BaseDirectory, "Interchange", "Data", "aimet_configs", "htp_quantsim_config_v73.json");
        var (code, output) = Run("quantize", "--config", config, "--target", "qnn-htp", "--output", Path.Combine(_dir, "fashion.htp.onnx"), "--encodings", Path.Combine(_dir, "htp.encodings"), "--eval-samples", "8");
        code.Should().Be(0, output);
        output.Should().Contain("AIMET quantsim config (V73):").And.Contain("supergroups [Conv, Relu]");
        var fromConfig = AimetEncodingsFile.Load(Path.Combine(_dir, "htp.encodings"));
        fromConfig.Where(e => e.IsParameter && e.IsSymmetric).Should().NotBeEmpty()
            .And.OnlyContain(e => !e.IsStrictSymmetric, "HTP's config is non-strict");

        // The built-in qnn-htp target is the same preset: the same model and encodings without the file.
        (code, output) = Run("quantize", "--target", "qnn-htp", "--output", Path.Combine(_dir, "fashion.qnn.onnx"), "--encodings", Path.Combine(_dir, "qnn.encodings"), "--eval-samples", "8");
        code.Should().Be(0, output);
        File.ReadAllText(Path.Combine(_dir, "qnn.encodings")).Should().Be(File.ReadAllText(Path.Combine(_dir, "htp.encodings")));
        File.ReadAllBytes(Path.Combine(_dir, "fashion.qnn.onnx")).Should().Equal(File.ReadAllBytes(Path.Combine(_dir, "fashion.htp.onnx")));
    }

    [Fact]
    public void Errors_are_one_unwrapped_line_on_standard_error_when_piped()
    {
        string missing = Path.Combine(_dir, "a-directory-name-long-enough-to-pass-eighty-columns", "and-a-model-file-name-that-is-long-too.onnx");
        Directory.CreateDirectory(Path.Combine(_dir, "cal"));
        var (code, stdout, stderr) = CliProcess.RunSplit(null, "quantize", missing, "--output", Path.Combine(_dir, "x.onnx"), "--calibration", Path.Combine(_dir, "cal"));
        code.Should().Be(1);
        stdout.Should().BeEmpty();
        stderr.TrimEnd('\n').Should().Be($"error: ONNX model '{missing}' does not exist.", "one line, not wrapped at 80 columns");
        CliProcess.RunSplit(null, "quantize", "--bogus").Stderr.Should().StartWith("error: ").And.NotContain("   at ", "no stack trace");
    }

    [Fact]
    public void Outputs_are_written_only_when_every_output_can_be_and_never_over_a_calibration_sample()
    {
        var g = new GraphBuilder(seed: 6);
        g.Output(g.Conv(g.Input("x", 1, 3, 6, 6), 3, 4, output: "y"), 1, 4, 6, 6);
        string model = Path.Combine(_dir, "model.onnx"), calibration = Directory.CreateDirectory(Path.Combine(_dir, "cal")).FullName;
        g.Build().Save(model);
        string sample = Path.Combine(calibration, "x.0.npy");
        NpyFile.Write(sample, new float[108], [1, 3, 6, 6]);
        var before = File.ReadAllBytes(sample);
        var (code, text) = Run("quantize", model, "--calibration", calibration, "--output", sample);
        code.Should().Be(1, text);
        text.Should().Contain("--output").And.Contain("--calibration folder");
        File.ReadAllBytes(sample).Should().Equal(before, "a calibration sample is never overwritten");

        // Encodings that have no AIMET form (3 input channels in blocks of 16) fail after quantizing: no model is left behind.
        string config = Path.Combine(_dir, "blocks.json"), output = Path.Combine(_dir, "out.onnx");
        File.WriteAllText(config, """{"weights": "int4", "weightBlockSize": 16, "outlierSmoothing": false}""");
        (code, text) = Run("quantize", model, "--calibration", calibration, "--config", config, "--output", output, "--encodings", Path.Combine(_dir, "e.json"));
        code.Should().Be(1, text);
        text.Should().Contain("ragged");
        File.Exists(output).Should().BeFalse("the model is written only with its encodings");
    }

    [Fact]
    public void Output_paths_in_missing_folders_or_naming_folders_are_refused_before_any_work()
    {
        var (code, text) = Run("quantize", "--output", Path.Combine(_dir, "no-such-folder", "x.onnx"));
        code.Should().Be(1);
        text.Should().Contain("--output").And.Contain("does not exist");
        (code, text) = Run("quantize", "--output", _dir);
        code.Should().Be(1);
        text.Should().Contain("is a folder");
        (code, text) = Run("quantize", "--output", Path.Combine(_dir, "ok.onnx"), "--encodings", Path.Combine(_dir, "missing", "e.json"));
        code.Should().Be(1);
        text.Should().Contain("--encodings").And.NotContain("calibrating");
        File.Exists(Path.Combine(_dir, "ok.onnx")).Should().BeFalse("nothing is written when a later output cannot be");
        Directory.GetFiles(_dir, ".quant-write-check-*").Should().BeEmpty();
    }

    [Fact]
    public void The_aimet_route_writes_the_fp32_model_the_encodings_belong_to()
    {
        string fp32 = Path.Combine(_dir, "fashion.fp32.onnx"), encodings = Path.Combine(_dir, "fashion.encodings");
        var (code, output) = Run("quantize", "--encodings", encodings, "--aimet-model", fp32, "--eval-samples", "0");
        code.Should().Be(0, output);
        var model = OnnxModel.Load(fp32);
        model.Nodes.Should().NotContain(n => n.OpType == "BatchNormalization", "the encodings name the folded weights");
        var names = model.InitializerNames.Concat(model.Nodes.SelectMany(n => n.Outputs)).Concat(model.Inputs.Select(i => i.Name)).ToHashSet(StringComparer.Ordinal);
        AimetEncodingsFile.Load(encodings).Should().OnlyContain(e => names.Contains(e.Name), "every encoding names a tensor of the FP32 model written beside it");
        Run("quantize", "--aimet-model", fp32).Code.Should().Be(2, "the model without its encodings is a usage error");
    }

    [Fact]
    public void A_user_model_with_an_npy_calibration_folder_is_quantized_to_the_output_path()
    {
        var (model, shape) = Onnx.QdqPatternTests.Build("conv-relu");
        string modelPath = Path.Combine(_dir, "m.onnx"), calibration = Path.Combine(_dir, "cal"), output = Path.Combine(_dir, "m.int8.onnx");
        model.Save(modelPath);
        Directory.CreateDirectory(calibration);
        int i = 0;
        foreach (var s in Samples.For("x", shape, 6).GetSamples())
        {
            NpyFile.Write(Path.Combine(calibration, $"sample{i++}.npy"), s["x"].Floats(), shape);
        }

        var (code, text) = Run("quantize", modelPath, "--calibration", calibration, "--output", output, "--observer", "mse", "--per-tensor", "--encodings", output + ".json", "--encodings-version", "0.6.1");
        code.Should().Be(0, text);
        text.Should().Contain("wrote").And.Contain("SQNR");
        OnnxModel.Load(output).Nodes.Should().Contain(n => n.OpType == "DequantizeLinear");
        File.ReadAllText(output + ".json").Should().Contain("\"0.6.1\"");
    }

    [Theory]
    [InlineData("auto", 21)]
    [InlineData("microsoft", 13)]
    public void An_opset_11_model_is_converted_for_16_bit_activations_and_the_conversion_is_reported(string domain, int opset)
    {
        var g = new GraphBuilder(11, seed: 3);
        string x = g.Input("x", 1, 3, 6, 6);
        g.Output(g.Node("Softmax", [g.Node("Relu", [g.Conv(x, 3, 4)])], "y", GraphBuilder.Int("axis", 1)), 1, 4, 6, 6);
        string modelPath = Path.Combine(_dir, "old.onnx"), calibration = Path.Combine(_dir, "cal11"), output = Path.Combine(_dir, "old.int16.onnx");
        g.Build().Save(modelPath);
        Directory.CreateDirectory(calibration);
        int i = 0;
        foreach (var s in Samples.For("x", [1, 3, 6, 6], 4).GetSamples())
        {
            NpyFile.Write(Path.Combine(calibration, $"s{i++}.npy"), s["x"].Floats(), [1, 3, 6, 6]);
        }

        var (code, text) = Run("quantize", modelPath, "--calibration", calibration, "--output", output, "--activations", "uint16", "--qdq-domain", domain);
        code.Should().Be(0, text);
        text.Should().Contain($"converted from opset 11 to {opset}").And.Contain("Flatten → Softmax → Reshape");
        var quantized = OnnxModel.Load(output);
        quantized.OpsetVersion.Should().Be(opset);
        quantized.Nodes.Where(n => n.OpType == "QuantizeLinear").Should().OnlyContain(n => n.Domain == (domain == "microsoft" ? "com.microsoft" : ""));
    }

    [Fact]
    public void Eval_compares_on_held_out_samples_with_top1_accuracy_for_class_subfolders_and_says_when_it_is_in_sample()
    {
        var (model, shape) = Onnx.QdqPatternTests.Build("conv-relu");
        string modelPath = Path.Combine(_dir, "m.onnx"), calibration = Path.Combine(_dir, "cal"), plain = Path.Combine(_dir, "eval"), labelled = Path.Combine(_dir, "classes");
        model.Save(modelPath);
        int i = 0;
        foreach (var (folder, seed) in new[] { (calibration, 1), (plain, 2), (Path.Combine(labelled, "cat"), 3), (Path.Combine(labelled, "dog"), 4) })
        {
            Directory.CreateDirectory(folder);
            foreach (var s in Samples.For("x", shape, 3, seed: seed).GetSamples())
            {
                NpyFile.Write(Path.Combine(folder, $"sample{i++}.npy"), s["x"].Floats(), shape);
            }
        }

        var (code, text) = Run("quantize", modelPath, "--calibration", calibration, "--output", Path.Combine(_dir, "a.onnx"));
        code.Should().Be(0, text);
        text.Should().Contain("compared on 3 calibration samples (in-sample").And.NotContain("top-1 accuracy (");
        (code, text) = Run("quantize", modelPath, "--calibration", calibration, "--eval", plain, "--output", Path.Combine(_dir, "b.onnx"));
        code.Should().Be(0, text);
        text.Should().Contain("compared on 3 held-out samples from eval").And.NotContain("top-1 accuracy (");
        (code, text) = Run("quantize", modelPath, "--calibration", calibration, "--eval", labelled, "--eval-samples", "5", "--output", Path.Combine(_dir, "c.onnx"));
        code.Should().Be(0, text);
        text.Should().Contain("compared on 5 held-out samples from classes (2 classes)").And.Contain("top-1 accuracy (5 test images)");
        (code, text) = Run("quantize", modelPath, "--calibration", calibration, "--eval", Path.Combine(_dir, "nowhere"), "--output", Path.Combine(_dir, "d.onnx"));
        code.Should().Be(1, text);
        text.Should().Contain("nowhere");
        File.Exists(Path.Combine(_dir, "d.onnx")).Should().BeFalse("nothing is written when the comparison cannot run");
    }

    [Theory]
    [InlineData(1, "quantize", "missing.onnx", "--calibration", ".", "--output", "x.onnx")]
    [InlineData(2, "quantize", "--weights", "int3")]
    [InlineData(2, "quantize", "--frobnicate")]
    [InlineData(2, "quantize", "model.onnx", "--calibration", "dir")]
    [InlineData(2, "nonsense")]
    public void Bad_input_exits_non_zero_with_a_one_line_error(int expected, params string[] args)
    {
        var (code, output) = Run(args);
        code.Should().Be(expected);
        output.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("error:");
    }

    [Fact]
    public void A_garbage_model_gives_exit_code_1_and_writes_nothing()
    {
        string modelPath = Path.Combine(_dir, "garbage.onnx"), output = Path.Combine(_dir, "out.onnx");
        File.WriteAllText(modelPath, "this is not a model");
        Directory.CreateDirectory(Path.Combine(_dir, "cal"));
        var (code, text) = Run("quantize", modelPath, "--calibration", Path.Combine(_dir, "cal"), "--output", output);
        code.Should().Be(1);
        text.Should().Contain("garbage.onnx");
        File.Exists(output).Should().BeFalse();
        Directory.GetFiles(_dir).Should().NotContain(f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void Outputs_that_would_overwrite_the_input_model_or_each_other_are_refused_before_any_work()
    {
        var (model, _) = Onnx.QdqPatternTests.Build("conv-relu");
        string modelPath = Path.Combine(_dir, "m.onnx"), calibration = Path.Combine(_dir, "cal");
        model.Save(modelPath);
        Directory.CreateDirectory(calibration);
        byte[] before = File.ReadAllBytes(modelPath);
        string sameThroughDots = Path.Combine(_dir, "..", Path.GetFileName(_dir), ".", "m.onnx");
        string link = Path.Combine(_dir, "link.onnx");
        File.CreateSymbolicLink(link, modelPath);
        foreach (var args in new[]
        {
            new[] { "quantize", modelPath, "--calibration", calibration, "--output", modelPath },
            ["quantize", modelPath, "--calibration", calibration, "--output", sameThroughDots],
            ["quantize", modelPath, "--calibration", calibration, "--output", link],
            ["quantize", modelPath, "--calibration", calibration, "--output", Path.Combine(_dir, "q.onnx"), "--encodings", modelPath],
            ["quantize", modelPath, "--calibration", calibration, "--output", Path.Combine(_dir, "q.onnx"), "--encodings", Path.Combine(_dir, "q.onnx")],
            ["mixed-precision", modelPath, "--calibration", calibration, "--output", modelPath],
        })
        {
            var (code, output) = Run(args);
            code.Should().Be(1, string.Join(' ', args));
            output.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("error:").And.Match(m => m.Contains("input model") || m.Contains("same file"));
            File.ReadAllBytes(modelPath).Should().Equal(before, "the input model is never modified");
        }

        File.Exists(Path.Combine(_dir, "q.onnx")).Should().BeFalse("nothing is written when the paths are refused");
    }

    [Fact]
    public void Errors_name_the_option_or_setting_in_the_users_words_not_dotnets()
    {
        var (model, _) = Onnx.QdqPatternTests.Build("conv-relu");
        string modelPath = Path.Combine(_dir, "m.onnx"), calibration = Directory.CreateDirectory(Path.Combine(_dir, "cal")).FullName, config = Path.Combine(_dir, "c.json");
        model.Save(modelPath);
        NpyFile.Write(Path.Combine(calibration, "x.0.npy"), new float[4 * 8 * 8], [1, 4, 8, 8]);
        File.WriteAllText(config, """{"percentile": "high", "noSuchKey": 1}""");
        var cases = new (string[] Args, int Code, string Message)[]
        {
            (["quantize", modelPath, "--calibration", calibration, "--output", Path.Combine(_dir, "q.onnx"), "--config", config], 1, "error: Invalid quantization config at '$.percentile': The JSON value could not be converted to a number.*"),
            (["quantize", modelPath, "--calibration", calibration, "--output", Path.Combine(_dir, "q.onnx"), "--std", "0.5"], 1, "error: Mean and std normalize image files;*leave mean and std out."),
            (["quantize", modelPath, "--calibration", calibration, "--output", ""], 2, "error: --output needs a file path, not an empty string."),
            (["analyze", modelPath, "--calibration", calibration, "--out", modelPath], 1, $"error: --out '{modelPath}': '{modelPath}' is a file, not a folder."),
        };
        foreach (var (args, expected, message) in cases)
        {
            var (code, stdout, stderr) = RunSplit(args);
            code.Should().Be(expected, stderr);
            stderr.TrimEnd('\n').Should().Match(message).And.NotContain("(Parameter").And.NotContain("System.");
            stdout.Should().NotContain("Analyzing", "refused before any work");
        }
    }

    private static (int Code, string Stdout, string Stderr) RunSplit(params string[] args)
    {
        var (output, errors) = (new StringWriter(), new StringWriter());
        Spectre.Console.IAnsiConsole Console(StringWriter w) => Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
        {
            Out = new Spectre.Console.AnsiConsoleOutput(w), Ansi = Spectre.Console.AnsiSupport.No, ColorSystem = Spectre.Console.ColorSystemSupport.NoColors,
        });
        var (o, e) = (Console(output), Console(errors));
        o.Profile.Width = e.Profile.Width = 4096;
        int code = Quant.Net.Cli.Program.Run(o, args, e);
        return (code, output.ToString(), errors.ToString());
    }

    [Fact]
    public void Every_command_has_help()
    {
        Run("quantize", "--help").Output.Should().Contain("--calibration").And.Contain("--observer");
        Run("--help").Output.Should().Contain("quantize").And.Contain("demo");
    }
}
