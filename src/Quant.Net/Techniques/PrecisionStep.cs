namespace Quant.Net.Techniques;

/// <summary>One lowering tried in phase 2.</summary>
/// <param name="Layer">The layer lowered.</param>
/// <param name="From">Its bit widths before.</param>
/// <param name="To">Its bit widths in the trial.</param>
/// <param name="Score">The model's score with the trial assignment.</param>
/// <param name="Accepted">Kept: the score stayed at or above the minimum.</param>
public sealed record PrecisionStep(string Layer, PrecisionCandidate From, PrecisionCandidate To, double Score, bool Accepted);
