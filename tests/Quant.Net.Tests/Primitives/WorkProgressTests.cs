using FluentAssertions;
using Quant.Net.Kernels;
using Quant.Net.Rounding;
using Quant.Net.Tests.Kernels.Block;

namespace Quant.Net.Tests.Primitives;

/// <summary>
/// Progress inside one long computation (AdaRound's iterations, GPTQ's factorization and columns, SeqMSE's blocks): time
/// throttled, fractions that only grow and end at 1, a time left that is never negative, cancellation at the same points,
/// and the same bits with and without a receiver. A clock that moves one second at every reading stands in for time, so
/// no test depends on how fast the machine is.
/// </summary>
public sealed class WorkProgressTests
{
    [Fact]
    public void Reports_come_at_the_start_at_most_once_per_interval_and_at_the_end()
    {
        var still = new SteppingClock(TimeSpan.Zero);
        var reports = new Recorder();
        var reporter = new ThrottledProgress(reports, 1000, default, still);
        for (int i = 1; i <= 1000; i++)
        {
            reporter.Step(i);
        }

        reporter.Complete();
        reports.Values.Select(r => r.Done).Should().Equal([0L, 1000L], "a clock that does not move allows no report between the first and the last");

        var moving = new SteppingClock(ThrottledProgress.Interval / 2);
        reports = new Recorder();
        reporter = new ThrottledProgress(reports, 10, default, moving);
        for (int i = 1; i <= 10; i++)
        {
            reporter.Step(i);
        }

        reporter.Complete();
        reports.Values.Select(r => r.Done).Should().Equal([0L, 2L, 4L, 6L, 8L, 10L, 10L], "one report per interval: every second step when each step takes half of it");
        reports.Values[0].Remaining.Should().BeNull("no pace is known before any work is done");
        reports.Values[^1].Remaining.Should().Be(TimeSpan.Zero);
        new WorkProgress(0, 0, TimeSpan.Zero).Fraction.Should().Be(1, "no work is all done");
        new WorkProgress(1, 4, TimeSpan.FromSeconds(3)).Remaining.Should().Be(TimeSpan.FromSeconds(9));
    }

    [Fact]
    public void AdaRound_reports_its_iterations_and_gives_the_same_bits_with_or_without_a_receiver()
    {
        var (w, b, x, t, e) = AdaRoundLayer();
        var options = new AdaRoundOptions { Iterations = 400, Seed = 5 };
        var plain = new AdaRound(w, 16, 6, b, e, x, t).Optimize(options);
        var reports = new Recorder();
        var watched = new AdaRound(w, 16, 6, b, e, x, t).Optimize(options, reports, new SteppingClock(TimeSpan.FromSeconds(1)), default);
        var system = new AdaRound(w, 16, 6, b, e, x, t).Optimize(options, new Recorder());

        Check(reports, 400);
        reports.Values.Should().HaveCount(402, "with a second between readings every iteration reports, plus the start and the end");
        foreach (var other in new[] { watched, system })
        {
            other.Codes.Should().Equal(plain.Codes);
            other.Weights.Should().Equal(plain.Weights);
            other.AdaRoundMse.Should().Be(plain.AdaRoundMse);
            other.NearestMse.Should().Be(plain.NearestMse);
        }
    }

    [Fact]
    public void Gptq_reports_the_factorization_and_the_columns_and_gives_the_same_bits_with_or_without_a_receiver()
    {
        // K = 300 spans three batches of 128 columns, so the batch-end updates are counted too.
        const int n = 6, k = 300;
        var (w, h) = Layer(n, k);
        var options = new BlockQuantizationOptions { BlockSize = 32, Rounding = BlockRounding.MseSearch };
        var plain = BlockQuantizedWeights.QuantizeGptq(w, k, n, WeightLayout.NByK, h, options);
        var reports = new Recorder();
        var watched = BlockQuantizedWeights.QuantizeGptq(w, k, n, WeightLayout.NByK, h, options, 0.01, reports, new SteppingClock(TimeSpan.FromSeconds(1)), default);

        Check(reports, reports.Values[0].Total);
        reports.Values.Count.Should().BeGreaterThan(k, "every column and every group of rows of the factorization is a point that can report");
        reports.Values.Should().Contain(r => r.Fraction > 0 && r.Fraction < 0.5, "the factorization counts before the columns");
        Bytes(watched).Should().Equal(Bytes(plain));
        Bytes(BlockQuantizedWeights.QuantizeGptq(w, k, n, WeightLayout.NByK, h, options, progress: new Recorder())).Should().Equal(Bytes(plain));
    }

    [Fact]
    public void SeqMse_reports_its_blocks_and_gives_the_same_bits_with_or_without_a_receiver()
    {
        const int n = 5, k = 96;
        var (w, h) = Layer(n, k);
        var options = new BlockQuantizationOptions { BlockSize = 16 };
        var plain = BlockQuantizedWeights.QuantizeSeqMse(w, k, n, WeightLayout.NByK, h, options);
        var reports = new Recorder();
        var watched = BlockQuantizedWeights.QuantizeSeqMse(w, k, n, WeightLayout.NByK, h, options, reports, new SteppingClock(TimeSpan.FromSeconds(1)), default);

        Check(reports, k / 16);
        reports.Values.Select(r => r.Done).Should().Equal([0L, 1, 2, 3, 4, 5, 6, 6]);
        Bytes(watched).Should().Equal(Bytes(plain));
        Bytes(BlockQuantizedWeights.QuantizeSeqMse(w, k, n, WeightLayout.NByK, h, options, new Recorder())).Should().Equal(Bytes(plain));
    }

    [Fact]
    public void Cancellation_is_checked_where_progress_is_counted()
    {
        const int n = 4, k = 200;
        var (w, h) = Layer(n, k);
        var (aw, ab, ax, at, ae) = AdaRoundLayer();
        var work = new Func<IProgress<WorkProgress>, CancellationToken, object>[]
        {
            (p, c) => BlockQuantizedWeights.QuantizeGptq(w, k, n, WeightLayout.NByK, h, null, 0.01, p, new SteppingClock(TimeSpan.FromSeconds(1)), c),
            (p, c) => BlockQuantizedWeights.QuantizeSeqMse(w, k, n, WeightLayout.NByK, h, new BlockQuantizationOptions { BlockSize = 16 }, p, new SteppingClock(TimeSpan.FromSeconds(1)), c),
            (p, c) => new AdaRound(aw, 16, 6, ab, ae, ax, at).Optimize(new AdaRoundOptions { Iterations = 400 }, p, new SteppingClock(TimeSpan.FromSeconds(1)), c),
        };
        foreach (var run in work)
        {
            using var cancel = new CancellationTokenSource();
            var reports = new Recorder(onReport: count =>
            {
                if (count == 3)
                {
                    cancel.Cancel();
                }
            });
            FluentActions.Invoking(() => run(reports, cancel.Token)).Should().Throw<OperationCanceledException>();
            reports.Values.Should().HaveCount(3, "the step after the third report sees the cancellation");
        }
    }

    /// <summary>Fractions in [0, 1] that never go back and end at 1 with all units done; times left never negative.</summary>
    private static void Check(Recorder reports, long total)
    {
        reports.Values.Should().NotBeEmpty();
        reports.Values.Should().OnlyContain(r => r.Total == total && r.Done >= 0 && r.Done <= total);
        reports.Values.Select(r => r.Fraction).Should().BeInAscendingOrder();
        reports.Values[0].Fraction.Should().Be(0);
        reports.Values[^1].Fraction.Should().Be(1);
        reports.Values[^1].Done.Should().Be(total);
        reports.Values.Select(r => r.Elapsed).Should().BeInAscendingOrder();
        reports.Values.Where(r => r.Remaining is not null).Should().OnlyContain(r => r.Remaining >= TimeSpan.Zero);
        reports.Values.Where(r => r.Done > 0).Should().OnlyContain(r => r.Remaining != null, "once work is done there is a pace");
    }

    private static (float[] W, double[] H) Layer(int n, int k)
    {
        var random = new Random(3);
        float[] w = [.. Enumerable.Range(0, n * k).Select(_ => (float)(random.NextDouble() - 0.5))];
        return (w, GptqTests.Hessian(GptqTests.Inputs(96, k, 4), 96, k));
    }

    private static (float[] W, float[] B, float[] X, float[] T, QuantEncoding E) AdaRoundLayer()
    {
        const int outFeatures = 6, inFeatures = 16, rows = 64;
        var random = new Random(11);
        float[] w = [.. Enumerable.Range(0, outFeatures * inFeatures).Select(_ => (float)(random.NextDouble() - 0.5))];
        float[] b = [.. Enumerable.Range(0, outFeatures).Select(_ => (float)(random.NextDouble() * 0.1))];
        float[] x = [.. Enumerable.Range(0, rows * inFeatures).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        var t = TestData.Linear(x, w, b, rows, inFeatures, outFeatures);

        var e = QuantEncoding.FromTensor(new QuantScheme(4, true, true, false, QuantGranularity.PerChannel(0)), w, [outFeatures, inFeatures]);
        return (w, b, x, t, e);
    }

    private static byte[] Bytes(BlockQuantizedWeights weights)
    {
        using var stream = new MemoryStream();
        weights.Save(stream);
        return stream.ToArray();
    }

    /// <summary>Keeps every report, on the reporting thread (no synchronization context in between).</summary>
    private sealed class Recorder(Action<int>? onReport = null) : IProgress<WorkProgress>
    {
        public List<WorkProgress> Values { get; } = [];

        public void Report(WorkProgress value)
        {
            Values.Add(value);
            onReport?.Invoke(Values.Count);
        }
    }

    /// <summary>A clock that moves by <paramref name="step"/> every time it is read.</summary>
    private sealed class SteppingClock(TimeSpan step) : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks += step.Ticks;
    }
}
