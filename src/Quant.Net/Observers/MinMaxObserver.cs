using Quant.Net.Simd;
namespace Quant.Net.Observers;

/// <summary>
/// The range of everything observed: <c>[min x, max x]</c> over finite values. One fused vectorized pass per tensor.
/// </summary>
public sealed class MinMaxObserver : Observer
{
    /// <summary>Creates a min/max observer.</summary>
    /// <param name="channelAxis">Null for one range per tensor, or the channel axis for one range per channel.</param>
    public MinMaxObserver(int? channelAxis = null) : base(channelAxis)
    {
    }

    private protected override ChannelStatistics CreateStatistics() => new MinMaxStatistics();

    private protected override (float Min, float Max) ComputeRange(ChannelStatistics statistics, QuantScheme scheme) =>
        (statistics.Range.Min, statistics.Range.Max);

    private sealed class MinMaxStatistics : ChannelStatistics
    {
        public override void Observe(ReadOnlySpan<float> data) => Range = Range.Combine(RangeKernels.Compute(IsaConfig.Best.Elementwise, data));

        public override void Merge(ChannelStatistics other) => Range = Range.Combine(other.Range);

        public override ChannelStatistics Clone() => new MinMaxStatistics { Range = Range };
    }
}
