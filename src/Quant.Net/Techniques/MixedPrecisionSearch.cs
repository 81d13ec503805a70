using System.Globalization;

namespace Quant.Net.Techniques;

/// <summary>
/// The adaptive mixed-precision search (AIMET's AMP idea), independent of how a model is built or scored. Phase 1 scores
/// each layer at each cheaper candidate with every other layer at the most expensive; phase 2 starts from the most
/// expensive everywhere and, in order of least harm in phase 1 (ties: cheaper candidate first, then heavier layer
/// first), lowers one layer at a time, keeping a step only while the score stays at or above the minimum.
/// </summary>
public static class MixedPrecisionSearch
{
    /// <summary>Runs both phases.</summary>
    /// <param name="layers">Layer names (distinct).</param>
    /// <param name="candidates">Choices per layer (at least one; duplicates ignored).</param>
    /// <param name="minimumScore">The lowest acceptable score.</param>
    /// <param name="score">
    /// Scores a full assignment (higher is better). Called once per phase-1 trial (layers × cheaper candidates, in layer
    /// then candidate order), then once per phase-2 step, in that order.
    /// </param>
    /// <param name="weight">Orders ties: heavier layers (for example more MACs) are lowered first. Optional.</param>
    /// <param name="cancellationToken">Stops between trials.</param>
    /// <exception cref="ArgumentException">No layers, duplicate layers or no candidates.</exception>
    public static MixedPrecisionSearchResult Run(IReadOnlyList<string> layers, IReadOnlyList<PrecisionCandidate> candidates, double minimumScore,
        Func<IReadOnlyDictionary<string, PrecisionCandidate>, double> score, Func<string, double>? weight = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(score);
        if (layers.Count == 0 || layers.Distinct(StringComparer.Ordinal).Count() != layers.Count)
        {
            throw new ArgumentException("Give at least one layer, each once.", nameof(layers));
        }

        var ordered = Order(candidates);
        if (ordered.Count == 0)
        {
            throw new ArgumentException("At least one candidate is needed.", nameof(candidates));
        }

        var top = ordered[0];
        var start = layers.ToDictionary(l => l, _ => top, StringComparer.Ordinal);
        var sensitivity = new List<LayerSensitivity>();
        foreach (var layer in layers)
        {
            foreach (var c in ordered.Skip(1))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var trial = new Dictionary<string, PrecisionCandidate>(start, StringComparer.Ordinal) { [layer] = c };
                sensitivity.Add(new LayerSensitivity(layer, c, score(trial)));
            }
        }

        var current = new Dictionary<string, PrecisionCandidate>(start, StringComparer.Ordinal);
        var steps = new List<PrecisionStep>();
        foreach (var s in sensitivity.OrderByDescending(s => s.Score).ThenBy(s => s.Candidate.BitOpsPerMac).ThenByDescending(s => weight?.Invoke(s.Layer) ?? 0))
        {
            var now = current[s.Layer];
            if (!s.Candidate.IsCheaperThan(now))
            {
                continue;
            }

            cancellationToken.ThrowIfCancellationRequested();
            var trial = new Dictionary<string, PrecisionCandidate>(current, StringComparer.Ordinal) { [s.Layer] = s.Candidate };
            double value = score(trial);
            bool keep = value >= minimumScore;
            steps.Add(new PrecisionStep(s.Layer, now, s.Candidate, value, keep));
            if (keep)
            {
                current = trial;
            }
        }

        return new MixedPrecisionSearchResult(top, sensitivity, steps, current);
    }

    /// <summary>Distinct candidates, most expensive first.</summary>
    public static IReadOnlyList<PrecisionCandidate> Order(IEnumerable<PrecisionCandidate> candidates)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        return [.. candidates.Distinct().OrderByDescending(c => c.BitOpsPerMac).ThenByDescending(c => c.WeightBits)];
    }
}
