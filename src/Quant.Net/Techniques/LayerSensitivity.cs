namespace Quant.Net.Techniques;

/// <summary>Score of the model with one layer at one candidate and every other layer at the starting (most expensive) one.</summary>
/// <param name="Layer">The layer.</param>
/// <param name="Candidate">Its bit widths in this trial.</param>
/// <param name="Score">The model's score (higher is better).</param>
public sealed record LayerSensitivity(string Layer, PrecisionCandidate Candidate, double Score);
