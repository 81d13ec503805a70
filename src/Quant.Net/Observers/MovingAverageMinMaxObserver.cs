using Quant.Net.Simd;
namespace Quant.Net.Observers;

/// <summary>
/// An exponential moving average of each batch's min and max (PyTorch's <c>MovingAverageMinMaxObserver</c>):
/// the first batch sets the range, each later batch moves it by <c>range += c · (batchRange − range)</c>.
/// A batch is one <c>Observe</c> call (per channel for per-channel observers); batches without finite values are skipped.
/// </summary>
/// <remarks>
/// Merging is exact up to rounding: the observer also keeps the average its batches would give from a zero start and
/// the decay <c>(1 − c)^batches</c>, so <c>A.Merge(B)</c> equals observing A's batches then B's.
/// </remarks>
public sealed class MovingAverageMinMaxObserver : Observer
{
    /// <summary>Creates a moving-average min/max observer.</summary>
    /// <param name="averagingConstant">The weight c of each new batch, in (0, 1]; 0.01 as in PyTorch and AIMET.</param>
    /// <param name="channelAxis">Null for one range per tensor, or the channel axis.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="averagingConstant"/> is outside (0, 1].</exception>
    public MovingAverageMinMaxObserver(double averagingConstant = 0.01, int? channelAxis = null) : base(Validate(averagingConstant, channelAxis))
    {
        AveragingConstant = averagingConstant;
    }

    /// <summary>The weight c of each new batch.</summary>
    public double AveragingConstant { get; }

    private static int? Validate(double c, int? axis)
    {
        if (!(c > 0 && c <= 1)) throw new ArgumentOutOfRangeException(nameof(c), c, "The averaging constant must lie in (0, 1].");
        return axis;
    }

    private protected override ChannelStatistics CreateStatistics() => new AverageStatistics(AveragingConstant);

    private protected override (float Min, float Max) ComputeRange(ChannelStatistics statistics, QuantScheme scheme)
    {
        var s = (AverageStatistics)statistics;
        return ((float)s.Min, (float)s.Max);
    }

    private protected override bool SameConfiguration(Observer other) =>
        ((MovingAverageMinMaxObserver)other).AveragingConstant == AveragingConstant;

    private sealed class AverageStatistics(double c) : ChannelStatistics
    {
        public double Min, Max;           // the moving average, first batch as its start
        private double _zeroMin, _zeroMax; // the same average started from 0 (what this sequence adds to any earlier state)
        private double _decay = 1;         // (1 - c)^batches
        private long _batches;

        public override void Observe(ReadOnlySpan<float> data)
        {
            var batch = RangeKernels.Compute(IsaConfig.Best.Elementwise, data);
            Range = Range.Combine(batch);
            if (batch.FiniteCount == 0) return;
            if (_batches == 0) (Min, Max) = (batch.Min, batch.Max);
            else (Min, Max) = (Min + c * (batch.Min - Min), Max + c * (batch.Max - Max));
            _zeroMin = (1 - c) * _zeroMin + c * batch.Min;
            _zeroMax = (1 - c) * _zeroMax + c * batch.Max;
            _decay *= 1 - c;
            _batches++;
        }

        public override void Merge(ChannelStatistics other)
        {
            var o = (AverageStatistics)other;
            Range = Range.Combine(o.Range);
            if (o._batches == 0) return;
            if (_batches == 0)
            {
                (Min, Max, _zeroMin, _zeroMax, _decay, _batches) = (o.Min, o.Max, o._zeroMin, o._zeroMax, o._decay, o._batches);
                return;
            }
            Min = o._decay * Min + o._zeroMin;
            Max = o._decay * Max + o._zeroMax;
            _zeroMin = o._decay * _zeroMin + o._zeroMin;
            _zeroMax = o._decay * _zeroMax + o._zeroMax;
            _decay *= o._decay;
            _batches += o._batches;
        }

        public override ChannelStatistics Clone()
        {
            var copy = new AverageStatistics(c);
            copy.Merge(this);
            return copy;
        }

        public override void Reset()
        {
            base.Reset();
            (Min, Max, _zeroMin, _zeroMax, _decay, _batches) = (0, 0, 0, 0, 1, 0);
        }
    }
}
