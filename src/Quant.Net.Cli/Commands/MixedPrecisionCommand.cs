using Quant.Net.Techniques;
using System.Globalization;
using Quant.Net.Onnx;
using Quant.Net.Reports;
using Spectre.Console;

namespace Quant.Net.Cli;

/// <summary><c>quant mixed-precision</c>: per-layer bit widths within an accuracy budget.</summary>
internal static class MixedPrecisionCommand
{
    /// <summary>The weight bit widths of a candidate, as the candidate parser accepts them (asked, not copied: the help cannot drift from it).</summary>
    internal static readonly IReadOnlyList<int> CandidateWeightBits = [.. Enumerable.Range(1, 64).Where(w => Parses($"W{w}A8"))];

    /// <summary>The activation bit widths of a candidate, as the candidate parser accepts them.</summary>
    internal static readonly IReadOnlyList<int> CandidateActivationBits = [.. Enumerable.Range(1, 64).Where(a => Parses($"W8A{a}"))];

    public static readonly CliCommand Definition = new("mixed-precision", "bit widths per layer within an accuracy budget, with the Pareto curve",
        [
            "quant mixed-precision|the built-in Fashion-MNIST CNN, budget 0.5 points of top-1 accuracy",
            "quant mixed-precision MODEL.onnx --calibration DIR [options]|budget in cosine similarity to FP32",
        ],
        [
            .. CliOptions.Workload,
            new("--candidates", "LIST", $"comma-separated, each FP32 or WxAy with x in {string.Join(", ", CandidateWeightBits)} and y in {string.Join(", ", CandidateActivationBits)}",
                Default: string.Join(",", new MixedPrecisionOptions().Candidates)),
            new("--budget", "X", "largest allowed score drop from FP32", Default: "0.5 for the built-in model's accuracy in points, 0.01 for cosine similarity"),
            new("--output", "OUT.onnx", "write the quantized model of the chosen plan (atomically)"),
            new("--out", "DIR", "report folder", Default: "quant-mixed-precision"),
            CliOptions.PerTensor,
            CliOptions.WeightSymmetry,
            CliOptions.Target,
            CliOptions.Config,
        ],
        "Phase 1 scores every layer at every candidate (the others at the widest); phase 2 lowers layers, least sensitive first, "
        + "keeping each step only within the budget. Writes mixed-precision.html/.json and plots into --out and, with --output, "
        + "the quantized model of the chosen plan.");

    public static int Run(IAnsiConsole console, IReadOnlyList<string> args)
    {
        if (!Definition.TryParse(console, args, out var line))
        {
            return 0;
        }

        var config = line.Config(console);
        var candidates = line.Value("--candidates") is { } list
            ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(Candidate).ToList()
            : new MixedPrecisionOptions().Candidates;
        OutputPaths.Check(line.Positional, ("--output", line.Value("--output")));
        OutputPaths.CheckOutside(line.Value("--calibration"), "--calibration", ("--output", line.Value("--output")));
        string output = line.Value("--out") ?? "quant-mixed-precision";
        OutputPaths.CheckFolder("--out", output);
        var work = Workload.From(line);
        double budget = line.Double("--budget", work.IsDefault ? 0.5 : 0.01, 0);
        var text = new ScoreText(work.Score.IsAccuracy);
        console.MarkupLineInterpolated($"[bold]Mixed precision for {work.Title}[/]: candidates {string.Join(", ", candidates)}, budget {text.Amount(budget)} ({work.Score.Name})");
        Workload.AnnounceScoring(console, config);
        // An accuracy budget is given in points (0.5 = half a point); the score is a fraction.
        var options = new MixedPrecisionOptions { Candidates = candidates, AllowedDrop = work.Score.IsAccuracy ? budget / 100 : budget };
        var result = ProgressBars.Run(console, "mixed precision", p => MixedPrecision.Search(work.Model, work.Calibration, work.Score, options, config, p));
        var inv = CultureInfo.InvariantCulture;
        var table = new Table().Title($"{work.Score.Name} vs size (FP32: {text.Value(result.Fp32Score)})").AddColumn("model")
            .AddColumn(new TableColumn("bytes").RightAligned()).AddColumn(new TableColumn("score").RightAligned()).AddColumn("within budget");
        foreach (var p in result.Uniform.Append(result.Final with { Label = "chosen plan" }))
        {
            table.AddRow(Markup.Escape(p.Label), p.ModelBytes.ToString("N0", inv), text.Value(p.Score), p.Score >= result.Fp32Score - options.AllowedDrop ? "[green]yes[/]" : "[red]no[/]");
        }

        console.Write(table);
        var plan = new Table().Title("chosen plan").AddColumn("layer").AddColumn("bits").AddColumn(new TableColumn("weights").RightAligned());
        foreach (var l in result.Plan)
        {
            plan.AddRow(Markup.Escape(l.Node), l.Choice.ToString(), l.Parameters.ToString("N0", inv));
        }

        console.Write(plan);
        // Everything is computed before anything is written: the report folder, then the model (each moved into place
        // when complete; only a failure to write the model itself can leave the finished report behind).
        string? modelPath = line.Value("--output");
        var quantized = modelPath is null ? null : OnnxQuantizer.Quantize(work.Model, work.Calibration, result.Config);
        var files = QuantReports.WriteMixedPrecision(result, output);
        console.MarkupLineInterpolated($"wrote [green]{Path.Combine(output, "mixed-precision.html")}[/] and {files.Count - 1} more files");
        if (quantized is not null)
        {
            quantized.Model.Save(modelPath!);
            console.MarkupLineInterpolated($"wrote [green]{modelPath}[/] ({(new FileInfo(modelPath!).Length / 1024.0).ToString("F1", inv)} KiB)");
        }

        return 0;
    }

    private static bool Parses(string candidate)
    {
        try
        {
            PrecisionCandidate.Parse(candidate);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static PrecisionCandidate Candidate(string text)
    {
        try
        {
            return PrecisionCandidate.Parse(text);
        }
        catch (FormatException e)
        {
            throw new UsageException("--candidates: " + e.Message);
        }
    }
}
