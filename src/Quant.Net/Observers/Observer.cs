using Quant.Net.Simd;
using System.Buffers;

namespace Quant.Net.Observers;

/// <summary>
/// Shared machinery of the built-in observers: per-tensor or per-channel bookkeeping, splitting tensors into channels,
/// merging and validation. Each subclass supplies one channel's statistics and how a range follows from them.
/// </summary>
public abstract class Observer : IObserver
{
    private readonly List<ChannelStatistics> _channels = [];

    private protected Observer(int? channelAxis) => ChannelAxis = channelAxis;

    /// <summary>The statistics, created on first use (subclass settings are not yet assigned while the base constructor runs).</summary>
    private List<ChannelStatistics> Channels
    {
        get
        {
            if (ChannelAxis is null && _channels.Count == 0) _channels.Add(CreateStatistics());
            return _channels;
        }
    }

    /// <inheritdoc/>
    public int? ChannelAxis { get; }

    /// <inheritdoc/>
    public int ChannelCount => Channels.Count;

    /// <inheritdoc/>
    public long FiniteCount => Channels.Sum(c => c.Range.FiniteCount);

    /// <inheritdoc/>
    public long NaNCount => Channels.Sum(c => c.Range.NaNCount);

    /// <inheritdoc/>
    public long InfinityCount => Channels.Sum(c => c.Range.PositiveInfinityCount + c.Range.NegativeInfinityCount);

    /// <summary>The smallest finite value seen in each channel (+∞ for a channel that saw none).</summary>
    public IReadOnlyList<float> ObservedMin => Channels.Select(c => c.Range.Min).ToArray();

    /// <summary>The largest finite value seen in each channel (−∞ for a channel that saw none).</summary>
    public IReadOnlyList<float> ObservedMax => Channels.Select(c => c.Range.Max).ToArray();

    /// <inheritdoc/>
    public void Observe(ReadOnlySpan<float> data)
    {
        if (ChannelAxis is not null)
            throw new InvalidOperationException($"This observer is per-channel (axis {ChannelAxis}); call Observe(data, shape).");
        Channels[0].Observe(data);
    }

    /// <inheritdoc/>
    public void Observe(ReadOnlySpan<float> data, ReadOnlySpan<int> shape)
    {
        if (ChannelAxis is not int axis)
        {
            TensorLayout.Create(shape, data.Length, QuantGranularity.PerTensor, nameof(shape));
            Channels[0].Observe(data);
            return;
        }
        var layout = TensorLayout.Create(shape, data.Length, QuantGranularity.PerChannel(axis), nameof(shape));
        int channels = layout.AxisLength;
        if (_channels.Count == 0)
        {
            for (int c = 0; c < channels; c++) _channels.Add(CreateStatistics());
        }
        else if (_channels.Count != channels)
        {
            throw new ArgumentException($"The tensor has {channels} channels along axis {axis}, but this observer has seen {_channels.Count}.", nameof(shape));
        }

        int outer = layout.Outer, inner = layout.Inner;
        if (outer == 1)
        {
            for (int c = 0; c < channels; c++) _channels[c].Observe(data.Slice(c * inner, inner));
            return;
        }
        // Gather each channel's elements so every channel sees this tensor as one batch (the moving average depends on it).
        float[] buffer = ArrayPool<float>.Shared.Rent(outer * inner);
        try
        {
            var gathered = buffer.AsSpan(0, outer * inner);
            for (int c = 0; c < channels; c++)
            {
                for (int o = 0; o < outer; o++) data.Slice((o * channels + c) * inner, inner).CopyTo(gathered.Slice(o * inner, inner));
                _channels[c].Observe(gathered);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc/>
    public void Merge(IObserver other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.GetType() != GetType() || other is not Observer observer || !SameConfiguration(observer) || observer.ChannelAxis != ChannelAxis)
            throw new ArgumentException($"Only a {GetType().Name} with the same configuration can be merged into this one.", nameof(other));
        if (ReferenceEquals(other, this)) throw new ArgumentException("An observer cannot be merged into itself.", nameof(other));
        var theirs = observer.Channels;
        var mine = Channels;
        if (theirs.Count == 0) return;
        if (mine.Count == 0)
        {
            foreach (var c in theirs) mine.Add(c.Clone());
            return;
        }
        if (theirs.Count != mine.Count)
            throw new ArgumentException($"The other observer has {theirs.Count} channels, this one {mine.Count}.", nameof(other));
        for (int c = 0; c < mine.Count; c++) mine[c].Merge(theirs[c]);
    }

    /// <inheritdoc/>
    public void Reset()
    {
        if (ChannelAxis is null) Channels[0].Reset();
        else _channels.Clear();
    }

    /// <inheritdoc/>
    public QuantEncoding ComputeEncoding(QuantScheme scheme)
    {
        var g = scheme.Granularity;
        if (ChannelAxis is null && g.Kind != QuantGranularityKind.PerTensor)
            throw new ArgumentException($"A per-tensor observer computes per-tensor encodings, not {g}.", nameof(scheme));
        if (ChannelAxis is int axis && (g.Kind != QuantGranularityKind.PerChannel || g.Axis != axis))
            throw new ArgumentException($"This observer is per-channel along axis {axis}; the scheme must be PerChannel({axis}), not {g}.", nameof(scheme));
        var channels = Channels;
        if (channels.Count == 0)
            throw new InvalidOperationException("A per-channel observer needs at least one observation to know its channel count.");
        var min = new float[channels.Count];
        var max = new float[channels.Count];
        for (int c = 0; c < channels.Count; c++)
        {
            var stats = channels[c];
            (min[c], max[c]) = stats.Range.FiniteCount == 0 ? (0f, 0f) : ComputeRange(stats, scheme);
        }
        return QuantEncoding.FromRanges(scheme, min, max);
    }

    private protected ChannelStatistics StatisticsOf(int channel) => Channels[channel];

    private protected abstract ChannelStatistics CreateStatistics();

    /// <summary>The range to encode for one channel that has seen at least one finite value.</summary>
    private protected abstract (float Min, float Max) ComputeRange(ChannelStatistics statistics, QuantScheme scheme);

    /// <summary>Whether another observer of the same type has the same settings (so merging is meaningful).</summary>
    private protected virtual bool SameConfiguration(Observer other) => true;
}

/// <summary>One channel's statistics.</summary>
internal abstract class ChannelStatistics
{
    public FiniteRange Range { get; protected set; } = FiniteRange.Empty;

    public abstract void Observe(ReadOnlySpan<float> data);

    public abstract void Merge(ChannelStatistics other);

    public abstract ChannelStatistics Clone();

    public virtual void Reset() => Range = FiniteRange.Empty;
}
