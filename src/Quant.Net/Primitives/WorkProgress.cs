namespace Quant.Net;

/// <summary>
/// Progress inside one long computation — the iterations of AdaRound on a layer, the columns of GPTQ, the blocks of a
/// SeqMSE search — with an estimate of the time left. Long computations report it a few times per second at most (never
/// once per iteration), once as they start and once when done (<see cref="Done"/> = <see cref="Total"/>).
/// </summary>
/// <param name="Done">Work done, in the computation's own units (iterations, or operations estimated from the sizes).</param>
/// <param name="Total">Work in all, in the same units.</param>
/// <param name="Elapsed">Time since the computation started.</param>
public readonly record struct WorkProgress(long Done, long Total, TimeSpan Elapsed)
{
    /// <summary>The fraction done, in [0, 1] (1 when there is no work).</summary>
    public double Fraction => Total > 0 ? Math.Clamp((double)Done / Total, 0, 1) : 1;

    /// <summary>
    /// The time left if the rest goes at the pace so far: zero when done, null before any work is done (no pace yet);
    /// never negative.
    /// </summary>
    public TimeSpan? Remaining => Remain(Fraction, Elapsed);

    /// <summary>The time left after <paramref name="elapsed"/> for <paramref name="fraction"/> of the work, at the same pace.</summary>
    internal static TimeSpan? Remain(double fraction, TimeSpan elapsed) =>
        fraction >= 1 ? TimeSpan.Zero : fraction <= 0 || elapsed < TimeSpan.Zero ? null : TimeSpan.FromTicks((long)Math.Min(elapsed.Ticks * ((1 - fraction) / fraction), TimeSpan.MaxValue.Ticks / 2.0));
}
