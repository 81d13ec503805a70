using Quant.Net.Simd;
namespace Quant.Net.Observers;

/// <summary>
/// A histogram whose bins are dyadic intervals aligned at zero: bin i covers <c>[(i − B/2)·w, (i − B/2 + 1)·w)</c> with
/// <c>w = 2^Exponent</c>. When data outgrows the range, w doubles and neighbouring bins merge pairwise — no mass is
/// lost or smeared, and a value lands in the same bin whether it was binned before or after the growth. Hence merging
/// two histograms (coarsen the finer, add counts) gives exactly the histogram of observing both, in any order.
/// The exponent is always the smallest that covers the largest magnitude seen, so at least B/4 bins span the data.
/// </summary>
internal sealed class DyadicHistogram
{
    private long[] _counts;
    private long[] _scratch;

    public DyadicHistogram(int bins)
    {
        if (bins < 16 || (bins & (bins - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(bins), bins, "The bin count must be a power of two, at least 16.");
        _counts = new long[bins];
        _scratch = new long[bins];
    }

    public int Bins => _counts.Length;

    private int Half => _counts.Length / 2;

    /// <summary>Log2 of the bin width; null while only zeros have been seen (they sit in bin B/2 at any width).</summary>
    public int? Exponent { get; private set; }

    public double BinWidth => Exponent is int k ? Math.ScaleB(1.0, k) : 0;

    public ReadOnlySpan<long> Counts => _counts;

    public FiniteRange Range { get; private set; } = FiniteRange.Empty;

    /// <summary>Lower edge of bin <paramref name="bin"/> (its upper edge is that of bin + 1).</summary>
    public double Edge(int bin) => (bin - Half) * BinWidth;

    public void Observe(ReadOnlySpan<float> data)
    {
        var range = RangeKernels.Compute(IsaConfig.Best.Elementwise, data);
        Range = Range.Combine(range);
        if (range.FiniteCount == 0) return;
        Cover(Math.Max(Math.Abs(range.Min), Math.Abs(range.Max)));
        double inverseWidth = Exponent is int k ? Math.ScaleB(1.0, -k) : 0;
        int half = Half;
        long[] counts = _counts;
        bool skipNonFinite = range.FiniteCount != data.Length;
        foreach (float v in data)
        {
            if (skipNonFinite && !float.IsFinite(v)) continue;
            counts[(int)Math.Floor(v * inverseWidth) + half]++;
        }
    }

    public void Merge(DyadicHistogram other)
    {
        if (other.Bins != Bins) throw new ArgumentException("Histograms with different bin counts cannot be merged.", nameof(other));
        Range = Range.Combine(other.Range);
        long[] source = other._counts;
        if (other.Exponent is int theirs)
        {
            int mine = Exponent ?? int.MinValue;
            if (theirs > mine)
            {
                if (Exponent is null) Exponent = theirs;
                while (Exponent < theirs) Coarsen();
            }
            else if (theirs < mine)
            {
                source = (long[])source.Clone();
                var scratch = new long[Bins];
                for (int k = theirs; k < mine; k++) CoarsenInto(ref source, ref scratch);
            }
        }
        for (int i = 0; i < Bins; i++) _counts[i] += source[i];
    }

    public DyadicHistogram Clone()
    {
        var copy = new DyadicHistogram(Bins);
        copy.Merge(this);
        return copy;
    }

    public void Reset()
    {
        Array.Clear(_counts);
        Exponent = null;
        Range = FiniteRange.Empty;
    }

    private void Cover(float magnitude)
    {
        if (magnitude == 0) return;
        if (Exponent is null)
        {
            // magnitude = m · 2^e with m in [1, 2): the smallest k with magnitude < Half · 2^k is e − log2(Half) + 1.
            Exponent = Math.ILogB((double)magnitude) - Math.ILogB((double)Half) + 1;
            return;
        }
        while (magnitude >= Half * BinWidth) Coarsen();
    }

    private void Coarsen()
    {
        CoarsenInto(ref _counts, ref _scratch);
        Exponent++;
    }

    /// <summary>Doubles the bin width: new bin j holds old bins 2j − B/2 and 2j − B/2 + 1.</summary>
    private static void CoarsenInto(ref long[] counts, ref long[] scratch)
    {
        int bins = counts.Length, half = bins / 2;
        Array.Clear(scratch);
        for (int j = half / 2; j < half + half / 2; j++) scratch[j] = counts[2 * j - half] + counts[2 * j - half + 1];
        (counts, scratch) = (scratch, counts);
    }
}
