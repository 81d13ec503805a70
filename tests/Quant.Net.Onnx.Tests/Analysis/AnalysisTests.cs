using Quant.Net.Techniques;
using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Onnx;

public sealed class AnalysisTests
{
    /// <summary>Conv → Relu → Conv → Relu → Conv: three weighted layers, the middle one with a wide weight spread.</summary>
    private static (OnnxModel Model, InMemoryCalibrationData Calibration, InMemoryCalibrationData Evaluation) Cnn()
    {
        var g = new GraphBuilder(seed: 21);
        string x = g.Input("x", 1, 3, 8, 8);
        string h1 = g.Node("Relu", [g.Conv(x, 3, 8)]);
        string h2 = g.Node("Relu", [g.Conv(h1, 8, 8)]);
        g.Output(g.Conv(h2, 8, 4, output: "y"), 1, 4, 8, 8);
        return (g.Build(), Samples.For("x", [1, 3, 8, 8], 12, seed: 3), Samples.For("x", [1, 3, 8, 8], 8, seed: 4));
    }

    [Fact]
    public void The_analyzer_scores_weight_and_activation_quantization_every_group_and_fills_histograms()
    {
        var (model, calibration, evaluation) = Cnn();
        var before = model.ToBytes();
        var score = ModelScore.CosineToFp32(model, evaluation);
        var config = new QuantizationConfig { Weights = WeightType.Int4, PerChannelWeights = false };
        var progress = new List<QuantizationProgress>();
        var analysis = QuantAnalyzer.Analyze(model, calibration, score, config, histogramBins: 32, progress: new SyncProgress<QuantizationProgress>(progress.Add));

        model.ToBytes().Should().Equal(before);
        analysis.Fp32Score.Should().BeApproximately(1, 1e-6);
        analysis.QuantizedScore.Should().BeLessThan(analysis.Fp32Score);
        analysis.WeightOnlyScore.Should().BeGreaterThan(analysis.QuantizedScore - 1e-9).And.BeLessThan(1);
        analysis.ActivationOnlyScore.Should().BeGreaterThan(analysis.QuantizedScore - 1e-9).And.BeLessThan(1);
        var result = OnnxQuantizer.Quantize(model, calibration, config);
        analysis.Groups.Select(gr => gr.Node).Should().Equal(result.QuantizedNodes);
        foreach (var group in analysis.Groups)
        {
            group.EnabledAloneScore.Should().BeGreaterThanOrEqualTo(analysis.QuantizedScore - 1e-9, group.Node);
            group.DisabledAloneScore.Should().BeGreaterThanOrEqualTo(analysis.QuantizedScore - 1e-9, group.Node);
        }

        // Weights: the histogram counts every value; activations: every value of every calibration sample.
        var w = analysis.Tensors.First(t => t.Role == TensorRole.Weight);
        w.Histogram.Sum().Should().Be(result.PreparedModel.InitializerNames.Contains(w.Name) ? 8 * 3 * 9 : 0);
        w.Histogram.Should().HaveCount(32);
        var y = analysis.Tensors.Single(t => t.Name == "x");
        y.Histogram.Sum().Should().Be(12 * 3 * 8 * 8);
        y.EncodingMin.Should().BeApproximately(y.Min, (y.Max - y.Min) / 255 * 0.51, "min/max range, within half a step of zero-point rounding");
        y.ClippedFraction.Should().BeLessThan(0.01, "a min/max range clips at most the values the zero-point rounding shifts out");
        analysis.Layers.Should().NotBeEmpty().And.OnlyContain(l => l.MeanSquaredError >= 0 && l.CosineSimilarity > 0.5);
        progress.Should().NotBeEmpty();
        analysis.ToJson().Should().Contain("\"WeightOnlyScore\"").And.Contain("\"Histogram\"").And.Contain("\"EnabledAloneScore\"");
    }

    [Fact]
    public void Mixed_precision_stays_within_budget_lowers_what_it_can_and_its_config_reproduces_the_plan()
    {
        var (model, calibration, evaluation) = Cnn();
        var score = ModelScore.CosineToFp32(model, evaluation);
        var options = new MixedPrecisionOptions { Candidates = [PrecisionCandidate.W8A8, PrecisionCandidate.W4A8, PrecisionCandidate.Fp32], AllowedDrop = 0.01 };
        var search = MixedPrecision.Search(model, calibration, score, options);

        search.Plan.Should().HaveCount(3);
        search.WithinBudget.Should().BeTrue();
        search.Final.Score.Should().BeGreaterThanOrEqualTo(search.Fp32Score - 0.01);
        search.Uniform.Select(u => u.Label).Should().Equal("uniform FP32", "uniform W8A8", "uniform W4A8");
        search.Sensitivity.Should().HaveCount(3 * 2);
        search.Steps.Should().NotBeEmpty().And.OnlyContain(s => s.Accepted == (s.Score >= search.Fp32Score - 0.01));
        search.Final.ModelBytes.Should().BeLessThan(search.Uniform[0].ModelBytes, "lowering from FP32 within 0.01 cosine is possible");
        search.Pareto.Should().NotBeEmpty();

        // The config applies the plan: each layer's weights at its chosen bits, FP32 layers excluded.
        var applied = OnnxQuantizer.Quantize(model, calibration, search.Config);
        foreach (var layer in search.Plan)
        {
            var weight = applied.Encodings.SingleOrDefault(e => e.Tensor.Role == TensorRole.Weight && e.Tensor.Node == layer.Node);
            if (layer.Choice == PrecisionCandidate.Fp32)
            {
                weight.Should().BeNull(layer.Node);
            }
            else
            {
                weight!.BitWidth.Should().Be(layer.Choice.WeightBits, layer.Node);
            }
        }

        QuantizationConfig.FromJson(search.Config.ToJson()).Nodes.Keys.Should().BeEquivalentTo(search.Config.Nodes.Keys);
        search.ToJson().Should().Contain("\"Pareto\"").And.Contain("\"Plan\"");
        score.Evaluate(applied.Model).Should().Be(search.Final.Score, "without a MatMul/Gemm (no outlier smoothing) the config reproduces the model the search scored");
    }

    [Fact]
    public void Candidates_and_node_overrides_are_checked()
    {
        PrecisionCandidate.Parse("w4a16").Should().Be(PrecisionCandidate.W4A16);
        PrecisionCandidate.Parse("FP32").Should().Be(PrecisionCandidate.Fp32);
        FluentActions.Invoking(() => PrecisionCandidate.Parse("W5A8")).Should().Throw<FormatException>().WithMessage("*'W5A8'*");
        var (model, calibration, _) = Cnn();
        var config = new QuantizationConfig { Nodes = new Dictionary<string, OpTypeConfig> { ["no_such_node"] = new() { Weights = WeightType.Int4 } } };
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(model, calibration, config)).Should().Throw<ArgumentException>().WithMessage("*'no_such_node'*");
    }

    [Fact]
    public void Reports_write_html_json_and_png_plots_with_the_expected_series()
    {
        var (model, calibration, evaluation) = Cnn();
        var score = ModelScore.CosineToFp32(model, evaluation);
        var analysis = QuantAnalyzer.Analyze(model, calibration, score, new QuantizationConfig { Weights = WeightType.Int4 });
        var search = MixedPrecision.Search(model, calibration, score,
            new MixedPrecisionOptions { Candidates = [PrecisionCandidate.W8A16, PrecisionCandidate.W8A8, PrecisionCandidate.W4A8], AllowedDrop = 0.005 });
        string dir = Path.Combine(Path.GetTempPath(), "quantnet-report-" + Guid.NewGuid().ToString("N"));
        try
        {
            var written = Reports.QuantReports.WriteAnalysis(analysis, dir).Concat(Reports.QuantReports.WriteMixedPrecision(search, dir)).ToList();
            Directory.GetFiles(dir).Should().BeEquivalentTo(written, "exactly the reported files, no staging left behind");
            Directory.GetDirectories(dir).Should().BeEmpty();
            foreach (var png in written.Where(f => f.EndsWith(".png", StringComparison.Ordinal)))
            {
                var bytes = File.ReadAllBytes(png);
                bytes.Length.Should().BeGreaterThan(2000, png);
                bytes.Take(8).Should().Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png);
            }

            string html = File.ReadAllText(Path.Combine(dir, "analysis.html"));
            foreach (var png in written.Where(f => f.EndsWith(".png", StringComparison.Ordinal) && Path.GetFileName(f).StartsWith("analysis", StringComparison.Ordinal)))
            {
                html.Should().Contain($"src=\"data:image/png;base64,{Convert.ToBase64String(File.ReadAllBytes(png))}\" data-file=\"{Path.GetFileName(png)}\"", "the page carries each plot inline, the same bytes as the PNG file");
            }

            var advice = Reports.QuantReports.Advice(analysis);
            advice.Should().NotBeEmpty();
            html.Should().Contain("What to try next").And.Contain(System.Net.WebUtility.HtmlEncode(advice[0]));
            if (analysis.QuantizedScore < analysis.Fp32Score)
            {
                var best = analysis.Groups.MaxBy(g => g.DisabledAloneScore)!;
                if (best.DisabledAloneScore > analysis.QuantizedScore)
                {
                    advice.Should().Contain(a => a.StartsWith($"Keep node {best.Node} ", StringComparison.Ordinal), "the group that wins back most is named");
                }
            }

            foreach (var group in analysis.Groups)
            {
                html.Should().Contain(group.Node);
            }

            written.Should().Contain(f => Path.GetFileName(f) == "analysis-histogram-x.png");
            using (var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "analysis.json"))))
            {
                json.RootElement.GetProperty("Groups").GetArrayLength().Should().Be(analysis.Groups.Count);
                json.RootElement.GetProperty("Tensors").EnumerateArray().Should().Contain(t => t.GetProperty("Name").GetString() == "x" && t.GetProperty("Histogram").GetArrayLength() == 64);
            }

            string mixed = File.ReadAllText(Path.Combine(dir, "mixed-precision.html"));
            foreach (var png in new[] { "pareto", "sensitivity", "plan" })
            {
                mixed.Should().Contain($"data-file=\"mixed-precision-{png}.png\"").And.Contain($"src=\"data:image/png;base64,{Convert.ToBase64String(File.ReadAllBytes(Path.Combine(dir, $"mixed-precision-{png}.png")))}\"");
            }

            mixed.Should().Contain("uniform W8A16").And.Contain("uniform W4A8").And.Contain("chosen plan");
            using (var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "mixed-precision.json"))))
            {
                json.RootElement.GetProperty("Uniform").GetArrayLength().Should().Be(3);
                json.RootElement.GetProperty("Pareto").GetArrayLength().Should().BeGreaterThan(0);
                json.RootElement.GetProperty("Plan").GetArrayLength().Should().Be(3);
                QuantizationConfig.FromJson(json.RootElement.GetProperty("Config").GetString()!).Nodes.Should().HaveCount(search.Config.Nodes.Count);
            }

            FluentActions.Invoking(() => Reports.QuantReports.WriteAnalysis(analysis, dir, "../escape")).Should().Throw<ArgumentException>().WithParameterName("name");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task The_reports_render_in_headless_chromium_with_every_plot_decoded()
    {
        string? browser = new[] { "chromium", "chromium-browser", "google-chrome" }
            .SelectMany(b => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, b)))
            .FirstOrDefault(File.Exists);
        if (browser is null)
        {
            Assert.Skip("no chromium on this machine (CI installs Debian's chromium for this test)");
        }

        var (model, calibration, evaluation) = Cnn();
        var score = ModelScore.CosineToFp32(model, evaluation);
        var analysis = QuantAnalyzer.Analyze(model, calibration, score, new QuantizationConfig { Weights = WeightType.Int4 });
        var search = MixedPrecision.Search(model, calibration, score, new MixedPrecisionOptions { Candidates = [PrecisionCandidate.W8A8, PrecisionCandidate.W4A8], AllowedDrop = 0.01 });
        string dir = Path.Combine(Path.GetTempPath(), "quantnet-render-" + Guid.NewGuid().ToString("N"));
        try
        {
            Reports.QuantReports.WriteAnalysis(analysis, dir);
            Reports.QuantReports.WriteMixedPrecision(search, dir);
            string alone = Path.Combine(dir, "alone");
            Directory.CreateDirectory(alone);
            foreach (var page in new[] { "analysis.html", "mixed-precision.html" })
            {
                // The page alone, in a folder of its own: every image must come from the HTML file itself.
                File.Copy(Path.Combine(dir, page), Path.Combine(alone, page));
                string html = File.ReadAllText(Path.Combine(alone, page));
                int images = html.Split("<img ").Length - 1;
                images.Should().BeGreaterThan(2, page);
                System.Text.RegularExpressions.Regex.Matches(html, "<img src=\"([^\"]*)\"").Select(m => m.Groups[1].Value)
                    .Should().OnlyContain(src => src.StartsWith("data:image/png;base64,", StringComparison.Ordinal), "images are inline");
                var start = new System.Diagnostics.ProcessStartInfo(browser)
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                };
                foreach (var arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000", "--dump-dom", new Uri(Path.Combine(alone, page)).AbsoluteUri })
                {
                    start.ArgumentList.Add(arg);
                }

                using var process = System.Diagnostics.Process.Start(start)!;
                var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
                string dom = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
                process.WaitForExit(120_000).Should().BeTrue("chromium finishes");
                string log = await stderr;
                dom.Should().Contain($"data-images=\"{images}\"", page).And.Contain($"data-images-loaded=\"{images}\"", $"every plot of {page} decodes in the browser ({log})");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Bad_arguments_to_the_analyzer_and_the_search_are_refused_by_name()
    {
        var (model, calibration, evaluation) = Cnn();
        var score = ModelScore.CosineToFp32(model, evaluation);
        FluentActions.Invoking(() => QuantAnalyzer.Analyze(model, calibration, score, histogramBins: 1)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("histogramBins");
        FluentActions.Invoking(() => MixedPrecision.Search(model, calibration, score, new MixedPrecisionOptions { Candidates = [] }))
            .Should().Throw<ArgumentException>().WithParameterName("options");
        FluentActions.Invoking(() => ModelScore.CosineToFp32(model, new InMemoryCalibrationData([]))).Should().Throw<InvalidDataException>();

        // A model with nothing to choose bit widths for.
        var g = new GraphBuilder(seed: 2);
        string x = g.Input("x", 1, 4);
        g.Output(g.Node("Relu", [x], "y"), 1, 4);
        var relu = g.Build();
        var data = Samples.For("x", [1, 4], 4);
        FluentActions.Invoking(() => MixedPrecision.Search(relu, data, ModelScore.CosineToFp32(relu, data)))
            .Should().Throw<ArgumentException>().WithParameterName("model").WithMessage("*no Conv, Gemm or MatMul*");
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
