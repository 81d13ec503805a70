namespace Quant.Net;

/// <summary>
/// Reports <see cref="WorkProgress"/> for a computation of <c>total</c> units: at the start, then at most every
/// <see cref="Interval"/> from the points where <see cref="Step"/> is called, and at the end. Each step also checks the
/// cancellation token, so a computation stops at the same points where it reports. Without a receiver a step only checks
/// the token (no clock is read), and nothing the computation does depends on either, so results are the same bits.
/// </summary>
internal sealed class ThrottledProgress
{
    /// <summary>At most four reports a second.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private readonly IProgress<WorkProgress>? _progress;
    private readonly TimeProvider _time;
    private readonly CancellationToken _cancellationToken;
    private readonly long _start;
    private long _last;

    /// <param name="progress">The receiver, or null.</param>
    /// <param name="total">Units of work in all.</param>
    /// <param name="cancellationToken">Checked at every step.</param>
    /// <param name="time">The clock (tests pass one that advances at will); the system's by default.</param>
    public ThrottledProgress(IProgress<WorkProgress>? progress, long total, CancellationToken cancellationToken, TimeProvider? time = null)
    {
        _progress = progress;
        _time = time ?? TimeProvider.System;
        _cancellationToken = cancellationToken;
        Total = Math.Max(0, total);
        cancellationToken.ThrowIfCancellationRequested();
        if (progress is not null)
        {
            _start = _last = _time.GetTimestamp();
            progress.Report(new WorkProgress(0, Total, TimeSpan.Zero));
        }
    }

    public long Total { get; }

    /// <summary>Checks for cancellation, then reports <paramref name="done"/> units if the last report is older than <see cref="Interval"/>.</summary>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public void Step(long done)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        if (_progress is null)
        {
            return;
        }

        long now = _time.GetTimestamp();
        if (_time.GetElapsedTime(_last, now) < Interval)
        {
            return;
        }

        _last = now;
        _progress.Report(new WorkProgress(Math.Clamp(done, 0, Total), Total, _time.GetElapsedTime(_start, now)));
    }

    /// <summary>The last report: all done.</summary>
    public void Complete()
    {
        _cancellationToken.ThrowIfCancellationRequested();
        _progress?.Report(new WorkProgress(Total, Total, _time.GetElapsedTime(_start)));
    }
}
