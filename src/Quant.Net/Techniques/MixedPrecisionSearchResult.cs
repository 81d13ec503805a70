namespace Quant.Net.Techniques;

/// <summary>What <see cref="MixedPrecisionSearch.Run"/> found.</summary>
/// <param name="Start">The most expensive candidate, every layer's starting point.</param>
/// <param name="Sensitivity">Phase 1, in layer order then candidate order.</param>
/// <param name="Steps">Phase 2, in the order tried.</param>
/// <param name="Plan">The final choice per layer.</param>
public sealed record MixedPrecisionSearchResult(PrecisionCandidate Start, IReadOnlyList<LayerSensitivity> Sensitivity, IReadOnlyList<PrecisionStep> Steps,
    IReadOnlyDictionary<string, PrecisionCandidate> Plan)
{
    /// <summary>For example "MixedPrecisionSearchResult { start W8A8, 5 layers, 4 steps, plan: conv1 W8A8, conv2 W4A8, … }".</summary>
    public override string ToString() =>
        $"MixedPrecisionSearchResult {{ start {Start}, {Sensitivity.Count} layers, {Steps.Count} steps, plan: {string.Join(", ", Plan.Take(8).Select(p => $"{p.Key} {p.Value}"))}{(Plan.Count > 8 ? $", … ({Plan.Count})" : "")} }}";
}
