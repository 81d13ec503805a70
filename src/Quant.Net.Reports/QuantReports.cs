using Quant.Net.Onnx;
using System.Text;
using ScottPlot;
using static Quant.Net.Reports.ReportFiles;

namespace Quant.Net.Reports;

/// <summary>
/// One report per run: an HTML page with PNG plots (ScottPlot) and the same numbers as JSON, written next to each
/// other in a folder. Files appear only when all of them are complete.
/// </summary>
public static class QuantReports
{
    private const int Width = 1100, Height = 480;
    private static readonly System.Globalization.CultureInfo Inv = System.Globalization.CultureInfo.InvariantCulture;

    /// <summary>
    /// Writes <c>{name}.html</c>, <c>{name}.json</c> and the plots of a <see cref="QuantAnalysis"/>: score per
    /// quantization mode, per-group sensitivity bars (only this group quantized / all but this group), per-layer SQNR,
    /// and histograms of the activations with the chosen encoding range marked.
    /// </summary>
    /// <param name="analysis">What <see cref="QuantAnalyzer.Analyze"/> returned.</param>
    /// <param name="directory">Output folder (created if missing).</param>
    /// <param name="name">File name stem.</param>
    /// <param name="maxHistograms">Histograms to draw (the activations with the most clipping and widest ranges first).</param>
    /// <returns>The paths written.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a plain file name.</exception>
    public static IReadOnlyList<string> WriteAnalysis(QuantAnalysis analysis, string directory, string name = "analysis", int maxHistograms = 24)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        CheckName(name);
        using var files = new ReportFiles(directory);
        var body = new StringBuilder();
        string score = analysis.ScoreName;

        var page = new ReportSection(files, body, name, score);
        body.AppendLine("<h2>What to try next</h2><ul>");
        foreach (var line in Advice(analysis))
        {
            body.AppendLine(Inv, $"<li>{Html(line)}</li>");
        }

        body.AppendLine("</ul>");
        AnalysisModes(analysis, page);
        AnalysisGroups(analysis, page);
        AnalysisLayers(analysis, page);
        AnalysisHistograms(analysis, page, maxHistograms);
        AnalysisTensorTable(analysis, page);

        File.WriteAllText(files.Stage($"{name}.json"), analysis.ToJson());
        File.WriteAllText(files.Stage($"{name}.html"), Page($"Quantization analysis ({score})", body.ToString()));
        return files.Commit();
    }

    /// <summary>
    /// Writes <c>{name}.html</c>, <c>{name}.json</c> and the plots of a <see cref="MixedPrecisionResult"/>: the
    /// score-vs-size curve with every evaluated model (Pareto set, uniform choices, budget line), per-layer sensitivity
    /// per candidate, and the chosen plan.
    /// </summary>
    /// <param name="result">What <see cref="MixedPrecision.Search"/> returned.</param>
    /// <param name="directory">Output folder (created if missing).</param>
    /// <param name="name">File name stem.</param>
    /// <returns>The paths written.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a plain file name.</exception>
    public static IReadOnlyList<string> WriteMixedPrecision(MixedPrecisionResult result, string directory, string name = "mixed-precision")
    {
        ArgumentNullException.ThrowIfNull(result);
        CheckName(name);
        using var files = new ReportFiles(directory);
        var body = new StringBuilder();
        string score = result.ScoreName;
        double floor = result.Fp32Score - result.AllowedDrop;
        var text = new ScoreText(result.ScoreIsAccuracy);
        body.AppendLine(Inv, $"<p>FP32 {Html(score)}: <b>{text.Value(result.Fp32Score)}</b>; budget: drop ≤ {text.Amount(result.AllowedDrop)} (score ≥ {text.Value(floor)}). "
            + $"Plan: <b class=\"{(result.WithinBudget ? "good" : "bad")}\">{text.Value(result.Final.Score)}</b> at {result.Final.ModelBytes:N0} bytes, {result.Final.BitOps:G4} BitOps"
            + $" — {(result.WithinBudget ? "within budget" : "over budget")}.</p>");

        var page = new ReportSection(files, body, name, score);
        MixedPrecisionPareto(result, page, floor);
        MixedPrecisionSensitivity(result, page);
        MixedPrecisionPlan(result, page);
        MixedPrecisionSteps(result, page);

        File.WriteAllText(files.Stage($"{name}.json"), result.ToJson());
        File.WriteAllText(files.Stage($"{name}.html"), Page($"Mixed precision ({score})", body.ToString()));
        return files.Commit();
    }

    /// <summary>
    /// What to try next, derived from an analysis: whether weights or activations cost more and what helps each, the
    /// groups whose staying in float (or 16 bits) wins back the most, with the score they recover, and activations that
    /// clip many values.
    /// </summary>
    /// <param name="analysis">What <see cref="QuantAnalyzer.Analyze"/> returned.</param>
    /// <param name="maxGroups">Groups to name at most.</param>
    public static IReadOnlyList<string> Advice(QuantAnalysis analysis, int maxGroups = 3)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        var advice = new List<string>();
        double total = analysis.Fp32Score - analysis.QuantizedScore;
        double weights = analysis.Fp32Score - analysis.WeightOnlyScore, activations = analysis.Fp32Score - analysis.ActivationOnlyScore;
        string score = analysis.ScoreName;
        var text = new ScoreText(analysis.ScoreIsAccuracy);
        if (total <= 0)
        {
            advice.Add($"The quantized model scores {text.Value(analysis.QuantizedScore)} against FP32's {text.Value(analysis.Fp32Score)} ({score}): nothing to recover.");
            return advice;
        }

        // Drops print unsigned ("0.4 pt"); a quantization that happens to help shows as a gain ("+0.2 pt").
        string Cost(double drop) => drop >= 0 ? text.Amount(drop) : text.Difference(-drop);
        if (weights > 2 * Math.Max(activations, 0))
        {
            advice.Add($"Weights cost most ({Cost(weights)} of {score} with only weights quantized, {Cost(activations)} with only activations): "
                + "try AdaRound, per-channel or 8-bit weights for the groups below, or mixed precision.");
        }
        else if (activations > 2 * Math.Max(weights, 0))
        {
            advice.Add($"Activations cost most ({Cost(activations)} of {score} with only activations quantized, {Cost(weights)} with only weights): "
                + "try MSE or percentile ranges (observer), more calibration data, or 16-bit activations (W8A16) for the groups below.");
        }
        else
        {
            advice.Add($"Weights and activations cost alike ({Cost(weights)} and {Cost(activations)} of {score} alone; {Cost(total)} together).");
        }

        foreach (var g in analysis.Groups.Where(g => g.DisabledAloneScore > analysis.QuantizedScore)
            .OrderByDescending(g => g.DisabledAloneScore).Take(maxGroups))
        {
            advice.Add($"Keep node {g.Node} ({g.OpType}) in float or 16 bits: {text.Difference(g.DisabledAloneScore - analysis.QuantizedScore)} ({score}, "
                + $"{text.Value(g.DisabledAloneScore)} with all else quantized).");
        }

        foreach (var t in analysis.Tensors.Where(t => t.Role == TensorRole.Activation && t.ClippedFraction > 0.01).OrderByDescending(t => t.ClippedFraction).Take(maxGroups))
        {
            advice.Add($"Activation {t.Name} clips {Number(t.ClippedFraction * 100, "F1")}% of its values: widen its range (min/max observer) or give it 16 bits.");
        }

        return advice;
    }

    /// <summary>What every report section writes into: the staged files, the HTML body, the file stem and the score's name.</summary>
    private sealed record ReportSection(ReportFiles Files, StringBuilder Body, string Name, string Score);

    /// <summary>Section: Modes.</summary>
    private static void AnalysisModes(QuantAnalysis analysis, ReportSection page)
    {
        var (files, body, name, score) = page;
        var modes = new (string Label, double Score)[]
        {
            ("FP32", analysis.Fp32Score), ("weights only", analysis.WeightOnlyScore), ("activations only", analysis.ActivationOnlyScore), ("all quantized", analysis.QuantizedScore),
        };
        string modesPng = $"{name}-modes.png";
        var plot = new Plot();
        var bars = plot.Add.Bars(modes.Select(m => m.Score).ToArray());
        Ticks(plot, [.. modes.Select(m => m.Label)], rotate: false);
        plot.Title("Score by what is quantized");
        plot.YLabel(score);
        ZoomToData(plot, modes.Select(m => m.Score));
        files.SavePng(plot, modesPng, Width / 2, Height * 3 / 4);
        body.AppendLine("<h2>Sensitivity to weight vs activation quantization</h2>");
        body.AppendLine(Inv, $"<img src=\"{files.Source(modesPng)}\" data-file=\"{Html(modesPng)}\" alt=\"score by quantization mode\">");
        body.AppendLine(Inv, $"<table><tr><th>quantized</th><th>{Html(score)}</th><th>vs FP32</th></tr>");
        foreach (var (label, s) in modes)
        {
            body.AppendLine(Inv, $"<tr><td>{Html(label)}</td><td>{new ScoreText(analysis.ScoreIsAccuracy).Value(s)}</td><td>{new ScoreText(analysis.ScoreIsAccuracy).Difference(s - analysis.Fp32Score)}</td></tr>");
        }

        body.AppendLine("</table>");
    }
    /// <summary>Section: Per-group sensitivity.</summary>
    private static void AnalysisGroups(QuantAnalysis analysis, ReportSection page)
    {
        var (files, body, name, score) = page;
        string groupsPng = $"{name}-groups.png";
        var plot = new Plot();
        var groups = analysis.Groups;
        double[] positions = [.. Enumerable.Range(0, groups.Count).Select(i => (double)i)];
        var enabled = plot.Add.Bars(positions.Select(p => p - 0.2).ToArray(), groups.Select(g => analysis.Fp32Score - g.EnabledAloneScore).ToArray());
        enabled.LegendText = "drop with only this group quantized";
        var disabled = plot.Add.Bars(positions.Select(p => p + 0.2).ToArray(), groups.Select(g => analysis.Fp32Score - g.DisabledAloneScore).ToArray());
        disabled.LegendText = "drop with all but this group quantized";
        foreach (var b in enabled.Bars.Concat(disabled.Bars))
        {
            b.Size = 0.4;
        }

        Ticks(plot, [.. groups.Select(g => g.Node)], rotate: true);
        plot.Title("Per quantizer group");
        plot.YLabel($"{score}: drop vs FP32");
        plot.ShowLegend(Edge.Top);
        files.SavePng(plot, groupsPng, Width, Height);
        body.AppendLine("<h2>Per quantizer group</h2>");
        body.AppendLine(Inv, $"<img src=\"{files.Source(groupsPng)}\" data-file=\"{Html(groupsPng)}\" alt=\"per-group sensitivity\">");
        body.AppendLine(Inv, $"<table><tr><th>group (node)</th><th>op</th><th>tensors</th><th>only this group</th><th>all but this group</th></tr>");
        foreach (var g in groups)
        {
            body.AppendLine(Inv, $"<tr><td>{Html(g.Node)}</td><td>{Html(g.OpType)}</td><td>{Html(string.Join(", ", g.Tensors))}</td><td>{new ScoreText(analysis.ScoreIsAccuracy).Value(g.EnabledAloneScore)}</td><td>{new ScoreText(analysis.ScoreIsAccuracy).Value(g.DisabledAloneScore)}</td></tr>");
        }

        body.AppendLine("</table>");
    }
    /// <summary>Section: Per-layer SQNR.</summary>
    private static void AnalysisLayers(QuantAnalysis analysis, ReportSection page)
    {
        var (files, body, name, score) = page;
        if (analysis.Layers.Count > 0)
        {
            string layersPng = $"{name}-layers.png";
            var plot = new Plot();
            var sqnr = plot.Add.Bars(analysis.Layers.Select(l => double.IsFinite(l.SqnrDecibels) ? l.SqnrDecibels : 100).ToArray());
            sqnr.LegendText = "SQNR dB";
            Ticks(plot, [.. analysis.Layers.Select(l => l.Tensor)], rotate: true);
            plot.Title("Per-layer SQNR against FP32 (everything quantized)");
            plot.YLabel("SQNR (dB)");
            files.SavePng(plot, layersPng, Width, Height);
            body.AppendLine("<h2>Per-layer error</h2>");
            body.AppendLine(Inv, $"<img src=\"{files.Source(layersPng)}\" data-file=\"{Html(layersPng)}\" alt=\"per-layer SQNR\">");
            body.AppendLine("<table><tr><th>tensor</th><th>node</th><th>SQNR dB</th><th>cosine</th><th>MSE</th></tr>");
            foreach (var l in analysis.Layers)
            {
                body.AppendLine(Inv, $"<tr><td>{Html(l.Tensor)}</td><td>{Html(l.Node)}</td><td>{Number(l.SqnrDecibels, "F1")}</td><td>{Number(l.CosineSimilarity, "F5")}</td><td>{Number(l.MeanSquaredError, "G4")}</td></tr>");
            }

            body.AppendLine("</table>");
        }
    }
    /// <summary>Section: Histograms.</summary>
    private static void AnalysisHistograms(QuantAnalysis analysis, ReportSection page, int maxHistograms)
    {
        var (files, body, name, score) = page;
        body.AppendLine("<h2>Ranges and histograms</h2><p>Bars: values seen (activations: over the calibration data). Red lines: the encoding's representable range.</p>");
        body.AppendLine("<div class=\"grid\">");
        foreach (var t in analysis.Tensors.Where(t => t.Role == TensorRole.Activation && t.Histogram.Count > 0)
            .OrderByDescending(t => t.ClippedFraction).ThenByDescending(t => t.Max - t.Min).Take(Math.Max(0, maxHistograms)))
        {
            string png = $"{name}-histogram-{Slug(t.Name)}.png";
            var plot = new Plot();
            double width = (t.HistogramMax - t.HistogramMin) / t.Histogram.Count;
            var hist = plot.Add.Bars(
                [.. Enumerable.Range(0, t.Histogram.Count).Select(i => t.HistogramMin + ((i + 0.5) * width))],
                [.. t.Histogram.Select(c => c > 0 ? Math.Log10(c + 1) : 0)]);
            foreach (var b in hist.Bars)
            {
                b.Size = width > 0 ? width : 1;
                b.LineWidth = 0;
            }

            hist.LegendText = "log10(count + 1)";
            var lo = plot.Add.VerticalLine(t.EncodingMin, 2, Colors.Red);
            lo.LegendText = $"{t.BitWidth}-bit range";
            plot.Add.VerticalLine(t.EncodingMax, 2, Colors.Red);
            plot.Title(t.Name);
            plot.XLabel("value");
            files.SavePng(plot, png, 380, 260);
            body.AppendLine(Inv, $"<figure><img src=\"{files.Source(png)}\" data-file=\"{Html(png)}\" alt=\"histogram of {Html(t.Name)}\"><figcaption>{Html(t.Name)}: [{Number(t.Min, "G4")}, {Number(t.Max, "G4")}], "
                + $"range [{Number(t.EncodingMin, "G4")}, {Number(t.EncodingMax, "G4")}], clipped {Number(t.ClippedFraction * 100, "F3")}%</figcaption></figure>");
        }

        body.AppendLine("</div>");
    }
    /// <summary>Section: every quantized tensor with its range and clipping.</summary>
    private static void AnalysisTensorTable(QuantAnalysis analysis, ReportSection page)
    {
        var (files, body, name, score) = page;
        body.AppendLine("<h2>All quantized tensors</h2><table><tr><th>tensor</th><th>role</th><th>node</th><th>bits</th><th>min</th><th>max</th><th>range min</th><th>range max</th><th>clipped %</th></tr>");
        foreach (var t in analysis.Tensors)
        {
            body.AppendLine(Inv, $"<tr><td>{Html(t.Name)}</td><td>{t.Role}</td><td>{Html(t.Node)}</td><td>{t.BitWidth}</td><td>{Number(t.Min, "G4")}</td><td>{Number(t.Max, "G4")}</td>"
                + $"<td>{Number(t.EncodingMin, "G4")}</td><td>{Number(t.EncodingMax, "G4")}</td><td>{Number(t.ClippedFraction * 100, "F3")}</td></tr>");
        }

        body.AppendLine("</table>");
    }
    /// <summary>Section: Pareto curve.</summary>
    private static void MixedPrecisionPareto(MixedPrecisionResult result, ReportSection page, double floor)
    {
        var (files, body, name, score) = page;
        string paretoPng = $"{name}-pareto.png";
        var plot = new Plot();
        static double Kb(long bytes) => bytes / 1024.0;
        var kept = result.Steps.Where(s => s.Accepted).ToList();
        var rejected = result.Steps.Where(s => !s.Accepted).ToList();
        if (rejected.Count > 0)
        {
            var r = plot.Add.ScatterPoints(rejected.Select(s => Kb(s.ModelBytes)).ToArray(), rejected.Select(s => s.Score).ToArray(), (Color?)Colors.Gray);
            r.LegendText = "tried, over budget";
        }

        if (kept.Count > 0)
        {
            var k = plot.Add.ScatterPoints(kept.Select(s => Kb(s.ModelBytes)).ToArray(), kept.Select(s => s.Score).ToArray(), Colors.Blue);
            k.LegendText = "kept steps";
        }

        var pareto = plot.Add.Scatter(result.Pareto.Select(s => Kb(s.ModelBytes)).ToArray(), result.Pareto.Select(s => s.Score).ToArray(), Colors.Green);
        pareto.LegendText = "Pareto front";
        pareto.LineStyle.Pattern = LinePattern.Dashed;
        var uniform = plot.Add.ScatterPoints(result.Uniform.Select(s => Kb(s.ModelBytes)).ToArray(), result.Uniform.Select(s => s.Score).ToArray(), Colors.Orange);
        uniform.LegendText = "uniform";
        uniform.MarkerSize = 10;
        uniform.MarkerShape = MarkerShape.FilledSquare;
        foreach (var u in result.Uniform)
        {
            var text = plot.Add.Text(u.Label.Replace("uniform ", "", StringComparison.Ordinal), Kb(u.ModelBytes), u.Score);
            text.LabelFontSize = 11;
        }

        var final = plot.Add.ScatterPoints(new[] { Kb(result.Final.ModelBytes) }, new[] { result.Final.Score }, Colors.Red);
        final.LegendText = "chosen plan";
        final.MarkerSize = 14;
        final.MarkerShape = MarkerShape.FilledDiamond;
        var budget = plot.Add.HorizontalLine(floor, 1.5f, Colors.Red);
        budget.LegendText = "budget";
        budget.LinePattern = LinePattern.Dotted;
        plot.Title("Score vs model size");
        plot.XLabel("model size (KiB)");
        plot.YLabel(score);
        plot.ShowLegend(Edge.Right);   // beside the plot: a legend inside would cover points
        var shown = result.Steps.Concat(result.Uniform).Select(s => s.Score).Where(s => s >= floor - (4 * Math.Max(result.AllowedDrop, 1e-3)))
            .Append(result.Fp32Score).Append(floor).Append(result.Final.Score);   // the budget line and the chosen plan always inside
        ZoomToData(plot, shown);
        files.SavePng(plot, paretoPng, Width, Height);
        body.AppendLine("<h2>Score vs size</h2>");
        body.AppendLine(Inv, $"<img src=\"{files.Source(paretoPng)}\" data-file=\"{Html(paretoPng)}\" alt=\"Pareto curve\">");
        body.AppendLine(Inv, $"<table><tr><th>model</th><th>bytes</th><th>BitOps</th><th>{Html(score)}</th><th>within budget</th></tr>");
        foreach (var p in result.Uniform.Append(result.Final with { Label = "chosen plan" }))
        {
            body.AppendLine(Inv, $"<tr><td>{Html(p.Label)}</td><td>{p.ModelBytes:N0}</td><td>{p.BitOps:G4}</td><td>{new ScoreText(result.ScoreIsAccuracy).Value(p.Score)}</td><td>{(p.Score >= floor ? "yes" : "no")}</td></tr>");
        }

        body.AppendLine("</table>");
    }
    /// <summary>Section: Sensitivity per layer and candidate.</summary>
    private static void MixedPrecisionSensitivity(MixedPrecisionResult result, ReportSection page)
    {
        var (files, body, name, score) = page;
        string sensitivityPng = $"{name}-sensitivity.png";
        var plot = new Plot();
        var layers = result.Plan.Select(p => p.Node).ToList();
        var candidates = result.Sensitivity.Select(s => s.Candidate).Distinct().ToList();
        double slot = 0.8 / Math.Max(1, candidates.Count);
        var start = result.Uniform.Count > 0 ? result.Uniform[0].Score : result.Fp32Score;
        for (int c = 0; c < candidates.Count; c++)
        {
            var values = layers.Select(l => result.Sensitivity.FirstOrDefault(s => s.Layer == l && s.Candidate == candidates[c]) is { } s ? start - s.Score : 0).ToArray();
            var series = plot.Add.Bars(layers.Select((_, i) => i - 0.4 + (slot * (c + 0.5))).ToArray(), values);
            series.LegendText = candidates[c].ToString();
            foreach (var b in series.Bars)
            {
                b.Size = slot;
                b.FillColor = plot.Add.Palette.GetColor(c);
            }
        }

        Ticks(plot, [.. layers], rotate: true);
        plot.Title("Per-layer sensitivity: score drop with only this layer lowered");
        plot.YLabel($"{score}: drop vs uniform {(result.Uniform.Count > 0 ? result.Uniform[0].Label : "").Replace("uniform ", "", StringComparison.Ordinal)}");
        plot.ShowLegend(Edge.Top);
        files.SavePng(plot, sensitivityPng, Width, Height);
        body.AppendLine("<h2>Per-layer sensitivity</h2>");
        body.AppendLine(Inv, $"<img src=\"{files.Source(sensitivityPng)}\" data-file=\"{Html(sensitivityPng)}\" alt=\"per-layer sensitivity\">");
    }
    /// <summary>Section: Plan.</summary>
    private static void MixedPrecisionPlan(MixedPrecisionResult result, ReportSection page)
    {
        var (files, body, name, score) = page;
        var layers = result.Plan.Select(p => p.Node).ToList();
        string planPng = $"{name}-plan.png";
        var plot = new Plot();
        var w = plot.Add.Bars(layers.Select((_, i) => i - 0.2).ToArray(), result.Plan.Select(p => (double)Math.Min(p.Choice.WeightBits, 32)).ToArray());
        w.LegendText = "weight bits";
        var a = plot.Add.Bars(layers.Select((_, i) => i + 0.2).ToArray(), result.Plan.Select(p => (double)Math.Min(p.Choice.ActivationBits, 32)).ToArray());
        a.LegendText = "activation bits";
        foreach (var b in w.Bars.Concat(a.Bars))
        {
            b.Size = 0.4;
        }

        Ticks(plot, [.. layers], rotate: true);
        plot.Title("Chosen plan");
        plot.YLabel("bits (32: FP32)");
        plot.ShowLegend(Edge.Top);
        files.SavePng(plot, planPng, Width, Height);
        body.AppendLine("<h2>Chosen plan</h2>");
        body.AppendLine(Inv, $"<img src=\"{files.Source(planPng)}\" data-file=\"{Html(planPng)}\" alt=\"chosen plan\">");
        body.AppendLine("<table><tr><th>layer</th><th>bits</th><th>weights</th><th>MACs / sample</th></tr>");
        foreach (var p in result.Plan)
        {
            body.AppendLine(Inv, $"<tr><td>{Html(p.Node)}</td><td>{p.Choice}</td><td>{p.Parameters:N0}</td><td>{p.Macs:N0}</td></tr>");
        }

        body.AppendLine("</table>");
    }
    /// <summary>Section: every step of the search.</summary>
    private static void MixedPrecisionSteps(MixedPrecisionResult result, ReportSection page)
    {
        var (files, body, name, score) = page;
        body.AppendLine("<h2>Search steps</h2><table><tr><th>step</th><th>bytes</th><th>score</th><th>kept</th></tr>");
        foreach (var s in result.Steps)
        {
            body.AppendLine(Inv, $"<tr><td>{Html(s.Label)}</td><td>{s.ModelBytes:N0}</td><td>{new ScoreText(result.ScoreIsAccuracy).Value(s.Score)}</td><td>{(s.Accepted ? "yes" : "no")}</td></tr>");
        }

        body.AppendLine("</table>");
    }

    private static void CheckName(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name is "." or "..")
        {
            throw new ArgumentException($"'{name}' is not a plain file name.", nameof(name));
        }
    }

    private static void Ticks(Plot plot, string[] labels, bool rotate)
    {
        var ticks = labels.Select((l, i) => new Tick(i, l.Length > 28 ? l[..27] + "…" : l)).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        if (rotate)
        {
            plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
            plot.Axes.Bottom.MinimumSize = 120;
        }
    }

    private static void ZoomToData(Plot plot, IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToList();
        if (v.Count == 0)
        {
            return;
        }

        double lo = v.Min(), hi = v.Max(), pad = Math.Max((hi - lo) * 0.15, 1e-3);
        plot.Axes.AutoScaleX();
        plot.Axes.SetLimitsY(lo - pad, hi + pad);
    }
}
