using System.Globalization;
using System.Text.RegularExpressions;
using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Cli;

public sealed class AnalysisCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qn-cli-analysis-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Output) Run(params string[] args) => CliRunner.Run(args);

    private static double Points(string cell) =>
        (cell[0] == '−' ? -1 : 1) * double.Parse(cell.TrimStart('−', '+', '±').Split(' ')[0], CultureInfo.InvariantCulture);

    private static double Cell(string output, string rowStart, int column)
    {
        string line = output.Split('\n').First(l => l.TrimStart('│', ' ').StartsWith(rowStart, StringComparison.Ordinal));
        return double.Parse(line.Split('│', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)[column].Split(' ')[0].TrimEnd('%', '×'), CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Analyze_with_no_model_reports_on_the_shipped_cnn()
    {
        string output = Path.Combine(_dir, "report");
        var (code, text) = Run("analyze", "--weights", "int4", "--per-tensor", "--out", output);

        code.Should().Be(0, text);
        text.Should().Contain("weights only").And.Contain("activations only").And.Contain("most sensitive groups");
        Cell(text, "weights only", 1).Should().BeLessThan(Cell(text, "FP32", 1), "4-bit per-tensor weights cost accuracy");
        text.Should().MatchRegex(@"weights only\s+│\s+\d+\.\d%\s+│\s+−\d+\.\d pt", "accuracy in percent, its drop in points");

        // The sensitive groups are listed by what they cost (or win back), largest first.
        var rows = text.Split('\n').SkipWhile(l => !l.Contains("most sensitive", StringComparison.Ordinal))
            .Where(l => l.Contains('│', StringComparison.Ordinal) && l.Contains(" pt", StringComparison.Ordinal)).Select(l => l.Split('│', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Select(c => Math.Max(-Points(c[3]), Points(c[5]))).ToList();
        rows.Should().NotBeEmpty().And.BeInDescendingOrder();
        var advice = text.Split('\n').SkipWhile(l => l != "what to try next").Skip(1).TakeWhile(l => l.StartsWith("  - ", StringComparison.Ordinal)).ToList();
        advice.Should().NotBeEmpty();
        advice.Should().NotContain(l => Regex.IsMatch(l, @"\d\.\d{2,}"), "the advice gives accuracies as percentages and points with one decimal, like the tables");
        File.Exists(Path.Combine(output, "analysis.html")).Should().BeTrue();
        File.Exists(Path.Combine(output, "analysis.json")).Should().BeTrue();
        Directory.GetFiles(output, "*.png").Should().HaveCountGreaterThan(4);
    }

    [Fact]
    public void Mixed_precision_with_no_model_finds_a_plan_within_budget_and_writes_it()
    {
        string output = Path.Combine(_dir, "mp"), model = Path.Combine(_dir, "mixed.onnx");
        var (code, text) = Run("mixed-precision", "--candidates", "W8A8,W4A8", "--budget", "0.5", "--out", output, "--output", model);

        code.Should().Be(0, text);
        double fp32 = double.Parse(text.Split("FP32: ")[1].Split(')')[0].TrimEnd('%'), CultureInfo.InvariantCulture);
        text.Should().MatchRegex(@"FP32: \d+\.\d%\)", "accuracies print as percentages with one decimal");
        Cell(text, "chosen plan", 2).Should().BeGreaterThanOrEqualTo(fp32 - 0.5);
        Cell(text, "chosen plan", 1).Should().BeLessThan(Cell(text, "uniform W8A8", 1), "some layers drop to 4 bits");
        OnnxModel.Load(model).Nodes.Should().Contain(n => n.OpType == "DequantizeLinear");
        File.Exists(Path.Combine(output, "mixed-precision-pareto.png")).Should().BeTrue();
    }

    [Fact]
    public void Bench_compares_fp32_and_quantized_latency_and_size()
    {
        var (code, text) = Run("bench", "--runs", "5");
        code.Should().Be(0, text);
        text.Should().Contain("latency").And.Contain("model size");
        Cell(text, "model size", 2).Should().BeLessThan(Cell(text, "model size", 1));

        var (model, shape) = Onnx.QdqPatternTests.Build("conv-relu");
        string path = Path.Combine(_dir, "m.onnx"), cal = Path.Combine(_dir, "cal"), quantized = Path.Combine(_dir, "m.q.onnx");
        model.Save(path);
        Directory.CreateDirectory(cal);
        int i = 0;
        foreach (var s in Samples.For("x", shape, 4).GetSamples())
        {
            NpyFile.Write(Path.Combine(cal, $"s{i++}.npy"), s["x"].Floats(), shape);
        }

        Run("quantize", path, "--calibration", cal, "--output", quantized, "--eval-samples", "0").Code.Should().Be(0);
        var (code2, text2) = Run("bench", path, "--quantized", quantized, "--runs", "3", "--threads", "2");
        code2.Should().Be(0, text2);
        text2.Should().Contain("median of 3").And.Contain("latency");
    }

    [Fact]
    public void A_user_model_with_an_npy_folder_is_analyzed_and_searched_with_cosine_scores()
    {
        var g = new GraphBuilder(seed: 5);
        string x = g.Input("x", 1, 3, 8, 8);
        string h = g.Node("Relu", [g.Conv(x, 3, 8)]);
        g.Output(g.Conv(h, 8, 4, output: "y"), 1, 4, 8, 8);
        string path = Path.Combine(_dir, "user.onnx"), cal = Path.Combine(_dir, "user-cal");
        g.Build().Save(path);
        Directory.CreateDirectory(cal);
        int i = 0;
        foreach (var s in Samples.For("x", [1, 3, 8, 8], 6).GetSamples())
        {
            NpyFile.Write(Path.Combine(cal, $"s{i++}.npy"), s["x"].Floats(), [1, 3, 8, 8]);
        }

        var (code, text) = Run("analyze", path, "--calibration", cal, "--out", Path.Combine(_dir, "ua"), "--eval-samples", "4");
        code.Should().Be(0, text);
        text.Should().Contain("cosine vs FP32 by what is quantized");
        Cell(text, "FP32", 1).Should().BeApproximately(1, 1e-4);
        File.Exists(Path.Combine(_dir, "ua", "analysis.html")).Should().BeTrue();

        (code, text) = Run("mixed-precision", path, "--calibration", cal, "--candidates", "W8A8,W4A8,FP32", "--out", Path.Combine(_dir, "um"));
        code.Should().Be(0, text);
        Cell(text, "chosen plan", 2).Should().BeGreaterThanOrEqualTo(Cell(text, "uniform FP32", 2) - 0.01, "the default cosine budget is 0.01");
    }

    [Theory]
    [InlineData(2, "analyze", "--bogus")]
    [InlineData(2, "mixed-precision", "--candidates", "W5A8")]
    [InlineData(2, "mixed-precision", "--budget", "-1")]
    [InlineData(2, "bench", "--runs", "0")]
    [InlineData(2, "analyze", "model.onnx")]
    [InlineData(1, "bench", "/no/such/model.onnx", "--quantized", "/no/such/q.onnx")]
    [InlineData(2, "bench", "x.onnx", "y.onnx")]
    public void Bad_input_gives_a_one_line_error_and_a_non_zero_exit_code(int expected, params string[] args)
    {
        var (code, text) = Run(args);
        code.Should().Be(expected, text);
        text.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("error:");
    }

    [Theory]
    [InlineData("analyze")]
    [InlineData("mixed-precision")]
    [InlineData("bench")]
    public void Every_command_has_help(string command)
    {
        var (code, text) = Run(command, "--help");
        code.Should().Be(0);
        text.Should().Contain($"quant {command}").And.Contain("Options:").And.Contain("Exit codes");
    }
}
