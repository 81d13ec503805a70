using System.Text.Json;
using Quant.Net.Techniques;

namespace Quant.Net.Onnx;

/// <summary>The result of <see cref="MixedPrecision.Search"/>.</summary>
/// <param name="ScoreName">What the scores measure.</param>
/// <param name="Fp32Score">Score of the FP32 model.</param>
/// <param name="AllowedDrop">The budget.</param>
/// <param name="Plan">The chosen bit widths per layer.</param>
/// <param name="Config">The configuration that applies the plan (per-node overrides; FP32 layers excluded).</param>
/// <param name="Final">Cost and score of the plan.</param>
/// <param name="Sensitivity">Phase 1: every layer at every cheaper candidate.</param>
/// <param name="Steps">Phase 2: every lowering tried, in order, with whether it was kept.</param>
/// <param name="Uniform">Every candidate applied to all layers, for comparison.</param>
/// <param name="Pareto">The non-dominated points among steps and uniform choices (smaller and better).</param>
public sealed record MixedPrecisionResult(string ScoreName, double Fp32Score, double AllowedDrop, IReadOnlyList<LayerPrecision> Plan, QuantizationConfig Config,
    CostPoint Final, IReadOnlyList<LayerSensitivity> Sensitivity, IReadOnlyList<CostPoint> Steps, IReadOnlyList<CostPoint> Uniform, IReadOnlyList<CostPoint> Pareto)
{
    /// <summary>True when the scores are accuracies (<see cref="ModelScore.IsAccuracy"/>): fractions printed as percentages.</summary>
    public bool ScoreIsAccuracy { get; init; }

    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);

    /// <summary>Whether the plan's score is within the budget.</summary>
    public bool WithinBudget => Final.Score >= Fp32Score - AllowedDrop;

    /// <summary>The result as JSON (the plan's config as its own JSON string, loadable with <see cref="QuantizationConfig.FromJson"/>).</summary>
    public string ToJson() => JsonSerializer.Serialize(new
    {
        ScoreName, Fp32Score, AllowedDrop, WithinBudget,
        Plan = Plan.Select(p => new { p.Node, Choice = p.Choice.ToString(), p.Parameters, p.Macs }),
        Final, Steps, Uniform, Pareto,
        Sensitivity = Sensitivity.Select(s => new { s.Layer, Candidate = s.Candidate.ToString(), s.Score }),
        Config = Config.ToJson(),
    }, ReportJson.Options);
}
