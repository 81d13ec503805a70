namespace Quant.Net.Rounding;

/// <summary>AdaRound settings; the defaults are AIMET's.</summary>
public sealed record AdaRoundOptions
{
    /// <summary>Adam steps per layer.</summary>
    public int Iterations { get; init; } = 10_000;

    /// <summary>Samples per mini-batch (a sample contributes all of its rows, e.g. every output position of a convolution).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Weight λ of the rounding regularizer Σ(1 − |2h(V) − 1|^β).</summary>
    public float RegularizationWeight { get; init; } = 0.01f;

    /// <summary>β at the end of the warm start.</summary>
    public float BetaStart { get; init; } = 20f;

    /// <summary>β at the last iteration.</summary>
    public float BetaEnd { get; init; } = 2f;

    /// <summary>Fraction of iterations without the regularizer.</summary>
    public float WarmStart { get; init; } = 0.2f;

    /// <summary>Adam learning rate.</summary>
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>Seed of the mini-batch sampling: the same seed gives the same rounding.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Rows drawn per sample and iteration (for a convolution: output positions); null uses every row, as AIMET does.
    /// A random subset is an unbiased estimate of the same loss at a fraction of the cost — what makes AdaRound over a
    /// whole ResNet fit a CPU budget.
    /// </summary>
    public int? RowsPerSample { get; init; }

    /// <summary>Threads for the GEMMs (1: the calling thread; results do not depend on it).</summary>
    public int MaxDegreeOfParallelism { get; init; } = 1;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Iterations, 1, nameof(Iterations));
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        if (RowsPerSample is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(RowsPerSample), RowsPerSample, "Draw at least one row per sample (or null for all).");
        }
        if (!(RegularizationWeight >= 0) || !(BetaStart >= BetaEnd) || !(BetaEnd > 0) || !(WarmStart is >= 0 and < 1) || !(LearningRate > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(RegularizationWeight), "Need λ ≥ 0, β start ≥ β end > 0, warm start in [0, 1) and a positive learning rate.");
        }
    }
}
