using System.Globalization;

namespace Quant.Net.Techniques;

/// <summary>A bit-width choice for one layer: weight bits and output-activation bits (32 and 32: left in FP32).</summary>
/// <param name="WeightBits">2, 3, 4, 8, 16 or 32 (FP32).</param>
/// <param name="ActivationBits">4, 8, 16 or 32 (FP32).</param>
public sealed record PrecisionCandidate(int WeightBits, int ActivationBits)
{
    /// <summary>Layer left unquantized.</summary>
    public static PrecisionCandidate Fp32 { get; } = new(32, 32);

    /// <summary>16-bit weights and activations.</summary>
    public static PrecisionCandidate W16A16 { get; } = new(16, 16);

    /// <summary>8-bit weights, 16-bit activations.</summary>
    public static PrecisionCandidate W8A16 { get; } = new(8, 16);

    /// <summary>8-bit weights and activations.</summary>
    public static PrecisionCandidate W8A8 { get; } = new(8, 8);

    /// <summary>4-bit weights, 16-bit activations.</summary>
    public static PrecisionCandidate W4A16 { get; } = new(4, 16);

    /// <summary>4-bit weights, 8-bit activations.</summary>
    public static PrecisionCandidate W4A8 { get; } = new(4, 8);

    /// <summary>Relative cost per multiply-accumulate (weight bits × activation bits).</summary>
    public int BitOpsPerMac => WeightBits * ActivationBits;

    /// <summary>Whether this candidate costs less than <paramref name="other"/>: fewer BitOps, or as many with fewer weight bits.</summary>
    public bool IsCheaperThan(PrecisionCandidate other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return BitOpsPerMac < other.BitOpsPerMac || (BitOpsPerMac == other.BitOpsPerMac && WeightBits < other.WeightBits);
    }

    /// <summary>"W8A16", or "FP32".</summary>
    public override string ToString() => WeightBits >= 32 ? "FP32" : string.Create(CultureInfo.InvariantCulture, $"W{WeightBits}A{ActivationBits}");

    /// <summary>Parses "W8A16" or "FP32" (case-insensitive).</summary>
    /// <exception cref="FormatException">Not of that form, or bit widths with no quantized type (weights 2, 3, 4, 8, 16; activations 4, 8, 16).</exception>
    public static PrecisionCandidate Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim().ToUpperInvariant();
        if (t == "FP32")
        {
            return Fp32;
        }

        int a = t.IndexOf('A', StringComparison.Ordinal);
        if (t.Length < 4 || t[0] != 'W' || a < 2 || !int.TryParse(t.AsSpan(1, a - 1), CultureInfo.InvariantCulture, out int w)
            || !int.TryParse(t.AsSpan(a + 1), CultureInfo.InvariantCulture, out int x) || w is not (2 or 3 or 4 or 8 or 16) || x is not (4 or 8 or 16))
        {
            throw new FormatException($"'{text}' is not a candidate: use FP32 or W<2|3|4|8|16>A<4|8|16>, for example W8A16.");
        }

        return new PrecisionCandidate(w, x);
    }
}

/// <summary>Score of the model with one layer at one candidate and every other layer at the starting (most expensive) one.</summary>
/// <param name="Layer">The layer.</param>
/// <param name="Candidate">Its bit widths in this trial.</param>
/// <param name="Score">The model's score (higher is better).</param>
public sealed record LayerSensitivity(string Layer, PrecisionCandidate Candidate, double Score);

/// <summary>One lowering tried in phase 2.</summary>
/// <param name="Layer">The layer lowered.</param>
/// <param name="From">Its bit widths before.</param>
/// <param name="To">Its bit widths in the trial.</param>
/// <param name="Score">The model's score with the trial assignment.</param>
/// <param name="Accepted">Kept: the score stayed at or above the minimum.</param>
public sealed record PrecisionStep(string Layer, PrecisionCandidate From, PrecisionCandidate To, double Score, bool Accepted);

/// <summary>What <see cref="MixedPrecisionSearch.Run"/> found.</summary>
/// <param name="Start">The most expensive candidate, every layer's starting point.</param>
/// <param name="Sensitivity">Phase 1, in layer order then candidate order.</param>
/// <param name="Steps">Phase 2, in the order tried.</param>
/// <param name="Plan">The final choice per layer.</param>
public sealed record MixedPrecisionSearchResult(PrecisionCandidate Start, IReadOnlyList<LayerSensitivity> Sensitivity, IReadOnlyList<PrecisionStep> Steps,
    IReadOnlyDictionary<string, PrecisionCandidate> Plan);

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
