using System.Diagnostics;

namespace Quant.Net.Onnx;

/// <summary>
/// <see cref="QuantizationProgress"/> of a step that works layer by layer, from the core's <see cref="WorkProgress"/>
/// inside each layer: the layer's fraction and time left, and the step's time left with the layers weighted by their
/// estimated cost. Reports pass straight through on the reporting thread (the core already throttles them).
/// </summary>
internal sealed class LayerStepProgress
{
    private readonly IProgress<QuantizationProgress>? _progress;
    private readonly string _stage;
    private readonly double[] _before;
    private readonly double _total;
    private readonly long _start = Stopwatch.GetTimestamp();
    private long _layerStart, _last;

    /// <summary>At most four reports a second from <see cref="Within"/> (the core's reports are throttled where they are made).</summary>
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    /// <param name="progress">The receiver, or null (then nothing is measured).</param>
    /// <param name="stage">The stage's name.</param>
    /// <param name="costs">Each layer's estimated cost, in any unit (only ratios matter).</param>
    public LayerStepProgress(IProgress<QuantizationProgress>? progress, string stage, IReadOnlyList<double> costs)
    {
        _progress = progress;
        _stage = stage;
        _before = new double[costs.Count + 1];
        for (int i = 0; i < costs.Count; i++)
        {
            _before[i + 1] = _before[i] + Math.Max(costs[i], 0);
        }

        _total = _before[^1];
    }

    private int Layers => _before.Length - 1;

    /// <summary>Receives the core's reports inside layer <paramref name="index"/>, or null when no one listens.</summary>
    public IProgress<WorkProgress>? Inside(int index, string layer) => _progress is null ? null : new Forward(this, index, layer);

    /// <summary>Layer <paramref name="index"/> starts (before its own work reports, for example while its data is collected).</summary>
    public void Starting(int index, string layer)
    {
        _layerStart = _last = Stopwatch.GetTimestamp();
        _progress?.Report(new QuantizationProgress(_stage, index, Layers) { Layer = layer, LayerFraction = 0, Remaining = Remaining(index, 0) });
    }

    /// <summary>
    /// <paramref name="fraction"/> of layer <paramref name="index"/> is done, measured here (samples run, for example):
    /// reported when the last report is older than a quarter second, or always with <paramref name="force"/>.
    /// </summary>
    public void Within(int index, string layer, double fraction, bool force = false)
    {
        if (_progress is null)
        {
            return;
        }

        long now = Stopwatch.GetTimestamp();
        if (!force && Stopwatch.GetElapsedTime(_last, now) < Interval)
        {
            return;
        }

        _last = now;
        fraction = Math.Clamp(fraction, 0, 1);
        _progress.Report(new QuantizationProgress(_stage, index, Layers)
        {
            Layer = layer,
            LayerFraction = fraction,
            LayerRemaining = Left(fraction, Stopwatch.GetElapsedTime(_layerStart, now)),
            Remaining = Remaining(index, fraction),
        });
    }

    /// <summary><paramref name="done"/> layers are finished.</summary>
    public void Finished(int done) => _progress?.Report(new QuantizationProgress(_stage, done, Layers) { Remaining = Remaining(done, 0) });

    private TimeSpan? Remaining(int index, double fraction)
    {
        double overall = _total > 0 ? (_before[Math.Min(index, Layers)] + (index < Layers ? fraction * (_before[index + 1] - _before[index]) : 0)) / _total
            : Layers > 0 ? (index + fraction) / Layers : 1;
        return Left(overall, Stopwatch.GetElapsedTime(_start));
    }

    /// <summary>The time left after <paramref name="elapsed"/> for <paramref name="fraction"/> of the work, at the same pace.</summary>
    private static TimeSpan? Left(double fraction, TimeSpan elapsed) =>
        fraction >= 1 ? TimeSpan.Zero : fraction <= 0 ? null : TimeSpan.FromTicks((long)Math.Min(elapsed.Ticks * ((1 - fraction) / fraction), TimeSpan.MaxValue.Ticks / 2.0));

    private sealed class Forward(LayerStepProgress owner, int index, string layer) : IProgress<WorkProgress>
    {
        public void Report(WorkProgress value) => owner._progress!.Report(new QuantizationProgress(owner._stage, index, owner.Layers)
        {
            Layer = layer,
            LayerFraction = value.Fraction,
            LayerRemaining = value.Remaining,
            Remaining = owner.Remaining(index, value.Fraction),
        });
    }
}
