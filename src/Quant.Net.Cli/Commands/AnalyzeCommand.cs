using System.Globalization;
using Quant.Net.Onnx;
using Quant.Net.Reports;
using Spectre.Console;

namespace Quant.Net.Cli;

/// <summary><c>quant analyze</c>: where quantization hurts, with an HTML/PNG/JSON report.</summary>
internal static class AnalyzeCommand
{
    public static readonly CliCommand Definition = new("analyze", "sensitivity analysis of a quantized model, with a report",
        [
            "quant analyze|analyze the built-in Fashion-MNIST CNN (score: top-1 accuracy)",
            "quant analyze MODEL.onnx --calibration DIR [options]|score: cosine similarity to FP32",
        ],
        [
            .. CliOptions.Workload,
            new("--out", "DIR", "report folder", Default: "quant-analysis"),
            CliOptions.Weights,
            CliOptions.Activations,
            CliOptions.PerTensor,
            CliOptions.WeightSymmetry,
            CliOptions.Target,
            CliOptions.Config,
        ],
        "Measures weight-only vs activation-only quantization, each quantizer group enabled alone and disabled alone, per-layer "
        + "SQNR/MSE, and per-tensor ranges and histograms with the chosen encoding range. Writes analysis.html (open it in a browser), "
        + "analysis.json and the PNG plots into --out.");

    public static int Run(IAnsiConsole console, IReadOnlyList<string> args)
    {
        if (!Definition.TryParse(console, args, out var line))
        {
            return 0;
        }

        var config = line.Config(console);
        string output = line.Value("--out") ?? "quant-analysis";
        OutputPaths.CheckFolder("--out", output);
        var work = Workload.From(line);
        console.MarkupLineInterpolated($"[bold]Analyzing {work.Title}[/]");
        Workload.AnnounceScoring(console, config);
        var analysis = ProgressBars.Run(console, "analysis", p => QuantAnalyzer.Analyze(work.Model, work.Calibration, work.Score, config, progress: p));
        var text = new ScoreText(work.Score.IsAccuracy);
        var modes = new Table().Title($"{work.Score.Name} by what is quantized").AddColumn("quantized").AddColumn(new TableColumn("score").RightAligned())
            .AddColumn(new TableColumn("vs FP32").RightAligned());
        foreach (var (label, s) in new[] { ("FP32", analysis.Fp32Score), ("weights only", analysis.WeightOnlyScore), ("activations only", analysis.ActivationOnlyScore), ("all", analysis.QuantizedScore) })
        {
            modes.AddRow(label, text.Value(s), text.Difference(s - analysis.Fp32Score));
        }

        console.Write(modes);
        // Most sensitive first: what a group costs quantized alone, or what keeping it in float alone wins back.
        var worst = new Table().Title("most sensitive groups (drop with only this group quantized; gain with only this group in float)").AddColumn("node").AddColumn("op")
            .AddColumn(new TableColumn("only this group").RightAligned()).AddColumn(new TableColumn("vs FP32").RightAligned())
            .AddColumn(new TableColumn("all but this group").RightAligned()).AddColumn(new TableColumn("vs all").RightAligned());
        foreach (var g in analysis.Groups.OrderByDescending(g => Math.Max(analysis.Fp32Score - g.EnabledAloneScore, g.DisabledAloneScore - analysis.QuantizedScore)).Take(8))
        {
            worst.AddRow(Markup.Escape(g.Node), Markup.Escape(g.OpType), text.Value(g.EnabledAloneScore), text.Difference(g.EnabledAloneScore - analysis.Fp32Score),
                text.Value(g.DisabledAloneScore), text.Difference(g.DisabledAloneScore - analysis.QuantizedScore));
        }

        console.Write(worst);
        console.MarkupLine("[bold]what to try next[/]");
        foreach (var advice in QuantReports.Advice(analysis))
        {
            console.MarkupLineInterpolated($"  - {advice}");
        }

        var files = QuantReports.WriteAnalysis(analysis, output);
        console.MarkupLineInterpolated($"wrote [green]{Path.Combine(output, "analysis.html")}[/] and {files.Count - 1} more files");
        return 0;
    }
}
