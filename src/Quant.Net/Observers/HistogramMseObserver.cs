namespace Quant.Net.Observers;

/// <summary>
/// The range that minimizes the expected quantization MSE (clipping error plus rounding error) of the observed
/// histogram for the target scheme, found by an exhaustive search over every candidate range whose ends are histogram
/// bin edges or the observed min/max — where PyTorch's <c>HistogramObserver</c> shrinks greedily. Each candidate costs
/// O(1) through prefix sums (<see cref="HistogramCostModel"/>); asymmetric schemes search every (low, high) pair.
/// </summary>
public sealed class HistogramMseObserver : HistogramObserver
{
    /// <summary>Creates an MSE-optimal range observer.</summary>
    /// <param name="bins">Histogram bins (a power of two ≥ 64).</param>
    /// <param name="channelAxis">Null for one range per tensor, or the channel axis.</param>
    public HistogramMseObserver(int bins = 2048, int? channelAxis = null) : base(bins, channelAxis)
    {
    }

    private protected override (float Min, float Max) ComputeRange(DyadicHistogram histogram, QuantScheme scheme)
    {
        var model = new HistogramCostModel(histogram);
        return scheme.IsSymmetric ? SearchSymmetric(histogram, model, scheme, 1.0) : SearchAsymmetric(histogram, model, scheme);
    }

    /// <summary>Every threshold t on a bin edge up to |x|max (and |x|max itself), range [−t, t].</summary>
    internal static (float Min, float Max) SearchSymmetric(DyadicHistogram histogram, HistogramCostModel model, QuantScheme scheme, double clipWeight)
    {
        var range = histogram.Range;
        float absMax = Math.Max(Math.Abs(range.Min), Math.Abs(range.Max));
        double width = histogram.BinWidth;
        float best = absMax;
        double bestCost = SymmetricCost(absMax);
        int edges = (int)Math.Ceiling(absMax / width);
        for (int j = edges; j >= 1; j--)
        {
            float t = (float)(j * width);
            if (t > absMax) continue;
            double cost = SymmetricCost(t);
            if (cost < bestCost) (best, bestCost) = (t, cost);
        }
        return (-best, best);

        double SymmetricCost(float t)
        {
            var p = QuantParams.FromRange(scheme, -t, t);
            return model.Cost(p.RepresentableMin, p.RepresentableMax, p.Scale, clipWeight);
        }
    }

    /// <summary>Every (low, high) pair with low a bin edge in [min, 0] (or min) and high a bin edge in [0, max] (or max).</summary>
    private static (float Min, float Max) SearchAsymmetric(DyadicHistogram histogram, HistogramCostModel model, QuantScheme scheme)
    {
        var range = histogram.Range;
        double width = histogram.BinWidth, levels = scheme.QMax - scheme.QMin;
        double[] lows = Candidates(Math.Min(range.Min, 0f), width);
        double[] highs = Candidates(Math.Max(range.Max, 0f), width);
        double bestLo = Math.Min(range.Min, 0f), bestHi = Math.Max(range.Max, 0f);
        double bestCost = double.PositiveInfinity;
        foreach (double lo in lows)
        {
            foreach (double hi in highs)
            {
                if (hi - lo <= 0) continue;
                double cost = model.Cost(lo, hi, (hi - lo) / levels);
                if (cost < bestCost) (bestLo, bestHi, bestCost) = (lo, hi, cost);
            }
        }
        return ((float)bestLo, (float)bestHi);
    }

    /// <summary>0, the bin edges between 0 and <paramref name="end"/>, and <paramref name="end"/> itself.</summary>
    private static double[] Candidates(float end, double width)
    {
        if (end == 0) return [0.0];
        int steps = (int)Math.Ceiling(Math.Abs(end) / width);
        var values = new List<double>(steps + 2) { end };
        for (int j = 0; j < steps; j++) values.Add(Math.Sign(end) * j * width);
        return values.ToArray();
    }
}
