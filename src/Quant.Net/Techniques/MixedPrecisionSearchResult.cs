namespace Quant.Net.Techniques;

/// <summary>What <see cref="MixedPrecisionSearch.Run"/> found.</summary>
/// <param name="Start">The most expensive candidate, every layer's starting point.</param>
/// <param name="Sensitivity">Phase 1, in layer order then candidate order.</param>
/// <param name="Steps">Phase 2, in the order tried.</param>
/// <param name="Plan">The final choice per layer.</param>
public sealed record MixedPrecisionSearchResult(PrecisionCandidate Start, IReadOnlyList<LayerSensitivity> Sensitivity, IReadOnlyList<PrecisionStep> Steps,
    IReadOnlyDictionary<string, PrecisionCandidate> Plan);
