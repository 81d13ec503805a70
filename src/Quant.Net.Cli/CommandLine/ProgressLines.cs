using Quant.Net.Onnx;
using Spectre.Console;

namespace Quant.Net.Cli;

/// <summary>
/// Progress as plain lines, for output that is piped or redirected: a line when a stage starts, when it passes another
/// tenth, and when <see cref="Every"/> has gone by without one (a long layer), each line whole (never folded).
/// </summary>
internal sealed class ProgressLines(IAnsiConsole console, TimeProvider? time = null) : IProgress<QuantizationProgress>
{
    /// <summary>The longest silence while a stage runs.</summary>
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private string? _stage;
    private int _tenth;
    private long _last, _stageStart;

    public void Report(QuantizationProgress value)
    {
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            bool started = value.Stage != _stage;
            if (started)
            {
                (_stage, _stageStart, _tenth) = (value.Stage, now, -1);
            }

            double? fraction = ProgressText.Fraction(value);
            int tenth = fraction is { } f ? (int)Math.Floor(f * 10) : _tenth;
            if (!started && tenth <= _tenth && _time.GetElapsedTime(_last, now) < Every)
            {
                return;
            }

            _tenth = Math.Max(tenth, _tenth);
            _last = now;
            var left = value.Remaining ?? (fraction is { } g ? ProgressText.Left(g, _time.GetElapsedTime(_stageStart, now)) : null);
            string line = ProgressText.Describe(value) + (left is { } l && fraction < 1 ? $", about {ProgressText.Duration(l)} left" : "");
            ConsoleText.Write(console, line);
        }
    }
}
