namespace Quant.Net.Observers;

/// <summary>
/// Base of the observers that keep a histogram per channel (<see cref="DyadicHistogram"/>: bounded memory, exact
/// merging, ranges that grow without losing mass) and pick a range from it.
/// </summary>
public abstract class HistogramObserver : Observer
{
    private protected HistogramObserver(int bins, int? channelAxis) : base(channelAxis)
    {
        if (bins < 64 || (bins & (bins - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(bins), bins, "The bin count must be a power of two, at least 64.");
        Bins = bins;
    }

    /// <summary>Bins per histogram (a power of two); at least a quarter of them always span the observed data.</summary>
    public int Bins { get; }

    private protected override ChannelStatistics CreateStatistics() => new HistogramStatistics(Bins);

    private protected override (float Min, float Max) ComputeRange(ChannelStatistics statistics, QuantScheme scheme)
    {
        var histogram = ((HistogramStatistics)statistics).Histogram;
        if (histogram.Exponent is null) return (0f, 0f); // only zeros
        var (min, max) = ComputeRange(histogram, scheme);
        // Never wider than the data (but always containing 0, which QuantParams adds anyway). Should a search ever return a
        // range that misses the data entirely, the clamp would empty it: the data's own range is used then.
        float lo = Math.Max(min, histogram.Range.Min), hi = Math.Min(max, histogram.Range.Max);
        return lo <= hi ? (lo, hi) : (histogram.Range.Min, histogram.Range.Max);
    }

    private protected abstract (float Min, float Max) ComputeRange(DyadicHistogram histogram, QuantScheme scheme);

    /// <summary>The histogram of one channel (0 for a per-tensor observer).</summary>
    internal DyadicHistogram HistogramOf(int channel) => ((HistogramStatistics)StatisticsOf(channel)).Histogram;

    private protected override bool SameConfiguration(Observer other) => ((HistogramObserver)other).Bins == Bins;

    private sealed class HistogramStatistics(int bins) : ChannelStatistics
    {
        public DyadicHistogram Histogram { get; private set; } = new(bins);

        public override void Observe(ReadOnlySpan<float> data)
        {
            Histogram.Observe(data);
            Range = Histogram.Range;
        }

        public override void Merge(ChannelStatistics other)
        {
            Histogram.Merge(((HistogramStatistics)other).Histogram);
            Range = Histogram.Range;
        }

        public override ChannelStatistics Clone() => new HistogramStatistics(bins) { Histogram = Histogram.Clone(), Range = Range };

        public override void Reset()
        {
            base.Reset();
            Histogram.Reset();
        }
    }
}

/// <summary>
/// Prefix sums over a histogram's bins (count, Σn·c, Σn·c² with c the bin centre) that price any candidate range in
/// O(1): the squared error of clipping every bin whose centre lies outside [lo, hi] to the nearer end, plus the
/// expected rounding error Δ²/12 of every value inside.
/// </summary>
internal sealed class HistogramCostModel
{
    private readonly double[] _n, _s1, _s2;
    private readonly double _width;
    private readonly int _half;

    public HistogramCostModel(DyadicHistogram histogram)
    {
        int bins = histogram.Bins;
        _half = bins / 2;
        _width = histogram.BinWidth;
        _n = new double[bins + 1];
        _s1 = new double[bins + 1];
        _s2 = new double[bins + 1];
        var counts = histogram.Counts;
        for (int i = 0; i < bins; i++)
        {
            double c = (i - _half + 0.5) * _width, n = counts[i];
            _n[i + 1] = _n[i] + n;
            _s1[i + 1] = _s1[i] + n * c;
            _s2[i + 1] = _s2[i] + n * c * c;
        }
    }

    public double Total => _n[^1];

    /// <summary>Values in bins [from, to).</summary>
    public double Mass(int from, int to) => _n[to] - _n[from];

    public double Cost(double lo, double hi, double step, double clipWeight = 1.0)
    {
        int bins = _n.Length - 1;
        // Bins with centre < lo are [0, below); bins with centre > hi are [above, bins).
        int below = (int)Math.Clamp(Math.Ceiling(lo / _width + _half - 0.5), 0, bins);
        int above = (int)Math.Clamp(Math.Floor(hi / _width + _half - 0.5) + 1, below, bins);
        double clipLow = lo * lo * _n[below] - 2 * lo * _s1[below] + _s2[below];
        double n = _n[bins] - _n[above], s1 = _s1[bins] - _s1[above], s2 = _s2[bins] - _s2[above];
        double clipHigh = s2 - 2 * hi * s1 + hi * hi * n;
        double inside = (_n[above] - _n[below]) * step * step / 12;
        return clipWeight * (Math.Max(clipLow, 0) + Math.Max(clipHigh, 0)) + inside;
    }
}
