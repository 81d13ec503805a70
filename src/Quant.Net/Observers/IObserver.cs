namespace Quant.Net.Observers;

/// <summary>
/// Collects statistics from a stream of tensors (bounded memory, whatever the number of batches) and turns them into
/// an encoding. Observers are per-tensor, or per-channel along <see cref="ChannelAxis"/>: one statistic per channel.
/// </summary>
/// <remarks>
/// Non-finite values never reach the range: NaN is skipped and counted in <see cref="NaNCount"/>; ±∞ are skipped and
/// counted in <see cref="InfinityCount"/> (quantization saturates them to the range ends anyway). A channel that saw no
/// finite value gets the range [0, 0], which still yields a valid encoding.
/// </remarks>
public interface IObserver
{
    /// <summary>The channel axis for per-channel statistics (negative values count from the last axis), or null for one statistic per tensor.</summary>
    int? ChannelAxis { get; }

    /// <summary>Number of statistics: 1 per tensor, otherwise the channel count fixed by the first shaped observation (0 before it).</summary>
    int ChannelCount { get; }

    /// <summary>Finite values observed.</summary>
    long FiniteCount { get; }

    /// <summary>NaN values skipped.</summary>
    long NaNCount { get; }

    /// <summary>±∞ values skipped.</summary>
    long InfinityCount { get; }

    /// <summary>Observes one tensor of a per-tensor observer (its shape does not matter).</summary>
    /// <param name="data">The values.</param>
    /// <exception cref="InvalidOperationException">The observer is per-channel and needs the shape.</exception>
    void Observe(ReadOnlySpan<float> data);

    /// <summary>Observes one tensor, split into channels along <see cref="ChannelAxis"/> for a per-channel observer.</summary>
    /// <param name="data">The tensor, row-major.</param>
    /// <param name="shape">Its shape; its element count must equal the data's length, and the channel count must stay the same across calls.</param>
    void Observe(ReadOnlySpan<float> data, ReadOnlySpan<int> shape);

    /// <summary>
    /// Adds another observer's statistics as if its tensors had been observed by this one after its own: exactly for
    /// min/max and histogram observers, up to floating-point rounding for the moving average.
    /// </summary>
    /// <param name="other">An observer of the same type and configuration; it is not modified.</param>
    void Merge(IObserver other);

    /// <summary>Forgets everything observed.</summary>
    void Reset();

    /// <summary>The encoding for <paramref name="scheme"/> from the statistics so far.</summary>
    /// <param name="scheme">Per-tensor for a per-tensor observer, per-channel along <see cref="ChannelAxis"/> for a per-channel one.</param>
    QuantEncoding ComputeEncoding(QuantScheme scheme);
}
