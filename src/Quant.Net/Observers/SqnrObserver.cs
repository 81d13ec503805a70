namespace Quant.Net.Observers;

/// <summary>
/// AIMET's TF-enhanced (SQNR) encoding analyzer: tries a grid of candidate steps Δ (and, for asymmetric schemes,
/// offsets) and keeps the one with the least <c>γ · clipping MSE + rounding MSE</c>, γ = 3 — clipping is penalised more
/// than rounding because it distorts large activations. Candidate counts follow aimet_torch's SqnrEncodingAnalyzer
/// (101 symmetric steps; 17 asymmetric steps × 21 offsets, plus the observed offset), costed on our histogram.
/// </summary>
public sealed class SqnrObserver : HistogramObserver
{
    /// <summary>Creates an SQNR observer.</summary>
    /// <param name="gamma">Weight of clipping error against rounding error (AIMET: 3).</param>
    /// <param name="symmetricDeltaCandidates">Steps tried for symmetric schemes.</param>
    /// <param name="asymmetricDeltaCandidates">Steps tried for asymmetric schemes.</param>
    /// <param name="offsetCandidates">Offsets tried per step for asymmetric schemes.</param>
    /// <param name="bins">Histogram bins (a power of two ≥ 64).</param>
    /// <param name="channelAxis">Null for one range per tensor, or the channel axis.</param>
    public SqnrObserver(double gamma = 3.0, int symmetricDeltaCandidates = 101, int asymmetricDeltaCandidates = 17, int offsetCandidates = 21,
        int bins = 2048, int? channelAxis = null) : base(bins, channelAxis)
    {
        if (!(gamma >= 0) || double.IsInfinity(gamma)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "Gamma must be finite and ≥ 0.");
        ArgumentOutOfRangeException.ThrowIfLessThan(symmetricDeltaCandidates, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(asymmetricDeltaCandidates, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(offsetCandidates, 2);
        Gamma = gamma;
        SymmetricDeltaCandidates = symmetricDeltaCandidates;
        AsymmetricDeltaCandidates = asymmetricDeltaCandidates;
        OffsetCandidates = offsetCandidates;
    }

    /// <summary>Weight of the clipping error.</summary>
    public double Gamma { get; }

    /// <summary>Steps tried for symmetric schemes.</summary>
    public int SymmetricDeltaCandidates { get; }

    /// <summary>Steps tried for asymmetric schemes.</summary>
    public int AsymmetricDeltaCandidates { get; }

    /// <summary>Offsets tried per step for asymmetric schemes.</summary>
    public int OffsetCandidates { get; }

    private protected override bool SameConfiguration(Observer other) =>
        base.SameConfiguration(other) && other is SqnrObserver o && o.Gamma == Gamma && o.SymmetricDeltaCandidates == SymmetricDeltaCandidates
        && o.AsymmetricDeltaCandidates == AsymmetricDeltaCandidates && o.OffsetCandidates == OffsetCandidates;

    private protected override (float Min, float Max) ComputeRange(DyadicHistogram histogram, QuantScheme scheme)
    {
        var model = new HistogramCostModel(histogram);
        double min = Math.Min(histogram.Range.Min, 0f), max = Math.Max(histogram.Range.Max, 0f);
        int levels = scheme.QMax - scheme.QMin;
        (double Lo, double Hi) best = (min, max);
        double bestCost = double.PositiveInfinity;
        if (scheme.IsSymmetric)
        {
            double absMax = Math.Max(-min, max);
            for (int i = 1; i <= SymmetricDeltaCandidates; i++)
            {
                float t = (float)(absMax * i / SymmetricDeltaCandidates);
                var p = QuantParams.FromRange(scheme, -t, t);
                double cost = model.Cost(p.RepresentableMin, p.RepresentableMax, p.Scale, Gamma);
                if (cost < bestCost) (best, bestCost) = ((-t, t), cost);
            }
            return ((float)best.Lo, (float)best.Hi);
        }
        double maxDelta = (max - min) / levels;
        for (int i = 1; i <= AsymmetricDeltaCandidates; i++)
        {
            double delta = maxDelta * i / AsymmetricDeltaCandidates;
            for (int k = 0; k <= OffsetCandidates; k++)
            {
                // Offsets (in steps) evenly from −levels to 0, then the offset that puts min on the grid.
                double offset = k < OffsetCandidates ? Math.Round(-levels + (double)levels * k / (OffsetCandidates - 1)) : Math.Round(min / delta);
                offset = Math.Clamp(offset, -levels, 0);
                double lo = offset * delta, hi = lo + levels * delta;
                double cost = model.Cost(lo, hi, delta, Gamma);
                if (cost < bestCost) (best, bestCost) = ((lo, hi), cost);
            }
        }
        return ((float)best.Lo, (float)best.Hi);
    }
}
