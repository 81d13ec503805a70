namespace Quant.Net.Observers;

/// <summary>
/// The KL-divergence threshold search TensorRT introduced and ONNX Runtime's entropy calibration uses: for every
/// candidate threshold t, the histogram inside [−t, t] (or [0, t] for non-negative data), with the mass outside folded
/// into the edge bins, is compared with its quantized version (merged into as many bins as the scheme has codes there,
/// then spread back over the non-empty bins); the t with the least KL(P‖Q) wins.
/// </summary>
/// <remarks>
/// The window must hold at least as many histogram bins as codes, so with the default 2048 bins the search runs for up
/// to 8-bit schemes; wider schemes (where clipping rarely pays) get the observed min/max range.
/// </remarks>
public sealed class EntropyObserver : HistogramObserver
{
    /// <summary>Creates an entropy (KL) observer.</summary>
    /// <param name="bins">Histogram bins (a power of two ≥ 64).</param>
    /// <param name="channelAxis">Null for one range per tensor, or the channel axis.</param>
    public EntropyObserver(int bins = 2048, int? channelAxis = null) : base(bins, channelAxis)
    {
    }

    private protected override (float Min, float Max) ComputeRange(DyadicHistogram histogram, QuantScheme scheme)
    {
        var range = histogram.Range;
        var counts = histogram.Counts;
        int half = counts.Length / 2;
        double width = histogram.BinWidth;
        bool oneSided = range.Min >= 0;
        float absMax = Math.Max(Math.Abs(range.Min), Math.Abs(range.Max));
        int maxIndex = Math.Min(half, (int)Math.Ceiling(absMax / width));
        int codes = oneSided && scheme.IsSymmetric
            ? scheme.QMax - (scheme.IsSigned ? 0 : (scheme.QMin + scheme.QMax + 1) / 2) + 1
            : scheme.QMax - scheme.QMin + 1;
        int windowAtMax = oneSided ? maxIndex : 2 * maxIndex;
        if (windowAtMax <= codes) return (range.Min, range.Max); // nothing to clip at this resolution

        int bestIndex = maxIndex;
        double bestDivergence = double.PositiveInfinity;
        var p = new double[counts.Length];
        int firstIndex = oneSided ? codes : (codes + 1) / 2;
        for (int i = firstIndex; i <= maxIndex; i++)
        {
            int start = oneSided ? half : half - i, end = half + i;
            double divergence = Divergence(counts, start, end, codes, p);
            if (divergence <= bestDivergence) (bestIndex, bestDivergence) = (i, divergence);
        }
        float t = (float)(bestIndex * width);
        return oneSided ? (0f, t) : (-t, t);
    }

    /// <summary>KL(P‖Q) for the window [start, end) quantized into <paramref name="codes"/> bins.</summary>
    private static double Divergence(ReadOnlySpan<long> counts, int start, int end, int codes, double[] p)
    {
        int length = end - start;
        double outsideLow = 0, outsideHigh = 0;
        for (int j = 0; j < start; j++) outsideLow += counts[j];
        for (int j = end; j < counts.Length; j++) outsideHigh += counts[j];
        for (int j = 0; j < length; j++) p[j] = counts[start + j];
        p[0] += outsideLow;
        p[length - 1] += outsideHigh;

        double total = 0;
        for (int j = 0; j < length; j++) total += p[j];
        double divergence = 0;
        for (int g = 0; g < codes; g++)
        {
            int from = (int)((long)g * length / codes), to = (int)((long)(g + 1) * length / codes);
            double mass = 0; // Q is built from the window without the folded outliers, as TensorRT does.
            int nonEmpty = 0;
            for (int j = from; j < to; j++)
            {
                mass += counts[start + j];
                if (p[j] > 0) nonEmpty++;
            }
            if (nonEmpty == 0) continue;
            double q = Math.Max(mass / nonEmpty, 1e-10);
            for (int j = from; j < to; j++)
            {
                if (p[j] > 0) divergence += p[j] / total * Math.Log(p[j] / q);
            }
        }
        // Σ p log(p / q) with P normalized and Q unnormalized differs from KL by log(ΣQ / ΣP) · 1; normalize Q as well.
        double qTotal = 0;
        for (int j = 0; j < length; j++) qTotal += counts[start + j];
        // A window holding none of the data (all of it folded into its edge bin) cannot represent it: never chosen
        // (its "divergence" would come out negative through the normalization above).
        return qTotal <= 0 ? double.PositiveInfinity : divergence + Math.Log(qTotal / total);
    }
}
