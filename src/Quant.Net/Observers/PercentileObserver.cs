namespace Quant.Net.Observers;

/// <summary>
/// Clips the tails: for an asymmetric scheme the range is [q(1 − p), q(p)] of the observed distribution, for a
/// symmetric scheme [−t, t] with t the p-quantile of |x|. Quantiles interpolate linearly inside a histogram bin and never
/// exceed the observed min/max. Default p = 99.99% (ONNX Runtime's percentile calibration default).
/// </summary>
public sealed class PercentileObserver : HistogramObserver
{
    /// <summary>Creates a percentile observer.</summary>
    /// <param name="percentile">The percentile p kept, in (50, 100].</param>
    /// <param name="bins">Histogram bins (a power of two ≥ 64).</param>
    /// <param name="channelAxis">Null for one range per tensor, or the channel axis.</param>
    public PercentileObserver(double percentile = 99.99, int bins = 2048, int? channelAxis = null) : base(bins, channelAxis)
    {
        if (!(percentile > 50 && percentile <= 100))
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "The percentile must lie in (50, 100].");
        Percentile = percentile;
    }

    /// <summary>The percentile kept.</summary>
    public double Percentile { get; }

    private protected override bool SameConfiguration(Observer other) =>
        base.SameConfiguration(other) && ((PercentileObserver)other).Percentile == Percentile;

    private protected override (float Min, float Max) ComputeRange(DyadicHistogram histogram, QuantScheme scheme)
    {
        double q = Percentile / 100;
        if (scheme.IsSymmetric)
        {
            float t = (float)AbsoluteQuantile(histogram, q);
            return (-t, t);
        }
        return ((float)Quantile(histogram, 1 - q), (float)Quantile(histogram, q));
    }

    internal static double Quantile(DyadicHistogram histogram, double q)
    {
        var counts = histogram.Counts;
        double target = q * histogram.Range.FiniteCount, cumulative = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            if (counts[i] == 0) continue;
            if (cumulative + counts[i] >= target)
            {
                double value = histogram.Edge(i) + (target - cumulative) / counts[i] * histogram.BinWidth;
                return Math.Clamp(value, histogram.Range.Min, histogram.Range.Max);
            }
            cumulative += counts[i];
        }
        return histogram.Range.Max;
    }

    internal static double AbsoluteQuantile(DyadicHistogram histogram, double q)
    {
        var counts = histogram.Counts;
        int half = counts.Length / 2;
        double target = q * histogram.Range.FiniteCount, inside = 0;
        double absMax = Math.Max(Math.Abs(histogram.Range.Min), Math.Abs(histogram.Range.Max));
        for (int j = 1; j <= half; j++)
        {
            double ring = counts[half + j - 1] + counts[half - j]; // |x| in [(j − 1)·w, j·w), up to the bin edges
            if (ring > 0 && inside + ring >= target)
                return Math.Min(((j - 1) + (target - inside) / ring) * histogram.BinWidth, absMax);
            inside += ring;
        }
        return absMax;
    }
}
