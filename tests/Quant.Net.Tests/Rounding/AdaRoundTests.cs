using FluentAssertions;
using Quant.Net.Rounding;

namespace Quant.Net.Tests.Rounding;

public sealed class AdaRoundTests
{
    private static (float[] W, float[] B, float[] X, float[] T, QuantEncoding E) Layer(int outFeatures, int inFeatures, int rows, int seed, bool relu, QuantScheme scheme)
    {
        var random = new Random(seed);
        float Next() => (float)((random.NextDouble() * 2) - 1);
        var w = Enumerable.Range(0, outFeatures * inFeatures).Select(_ => Next() * 0.5f).ToArray();
        var b = Enumerable.Range(0, outFeatures).Select(_ => Next() * 0.1f).ToArray();
        // Correlated inputs (a common factor per row), as real activations are: rounding errors then add up across the
        // row and choosing roundings that cancel them pays off, which round-to-nearest cannot do.
        var x = new float[rows * inFeatures];
        for (int r = 0; r < rows; r++)
        {
            float common = Next() * 2;
            for (int i = 0; i < inFeatures; i++)
            {
                x[(r * inFeatures) + i] = common + (0.2f * Next());
            }
        }

        var t = TestData.Linear(x, w, b, rows, inFeatures, outFeatures, relu);

        return (w, b, x, t, QuantEncoding.FromTensor(scheme, w, [outFeatures, inFeatures]));
    }

    [Theory]
    [InlineData(false, 0f, 0f)]
    [InlineData(true, 0f, 0f)]
    [InlineData(false, 0.05f, 8f)]
    [InlineData(true, 0.05f, 3f)]
    public void Closed_form_gradient_matches_finite_differences(bool relu, float lambda, float beta)
    {
        var (w, b, x, t, e) = Layer(5, 7, 12, 3, relu, new QuantScheme(4, true, true, false, QuantGranularity.PerChannel(0)));
        var ada = new AdaRound(w, 7, 5, b, e, x, t, relu: relu);
        var v = ada.InitialV().Select((value, i) => value + (((i * 7) % 5) - 2) * 0.3f).ToArray();
        int[] rows = [.. Enumerable.Range(0, 12)];
        var grad = new float[v.Length];
        ada.LossAndGradient(v, rows, beta, lambda, grad, 1);
        var scratch = new float[v.Length];
        int checkedCount = 0;
        for (int i = 0; i < v.Length; i += 3)
        {
            float h = AdaRound.H(v[i]);
            if (h is <= 0.02f or >= 0.98f)
            {
                continue; // the rectified sigmoid is flat there (zero gradient, kinks nearby)
            }

            const float Step = 1e-2f;
            var plus = (float[])v.Clone();
            var minus = (float[])v.Clone();
            plus[i] += Step;
            minus[i] -= Step;
            double numeric = (ada.LossAndGradient(plus, rows, beta, lambda, scratch, 1) - ada.LossAndGradient(minus, rows, beta, lambda, scratch, 1)) / (2 * Step);
            ((double)grad[i]).Should().BeApproximately(numeric, (Math.Abs(numeric) * 0.05) + 2e-6, $"V[{i}]");
            checkedCount++;
        }

        checkedCount.Should().BeGreaterThan(5);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Optimized_rounding_reconstructs_the_layer_better_than_nearest_and_is_deterministic(bool relu)
    {
        var scheme = new QuantScheme(4, true, true, false, QuantGranularity.PerChannel(0));
        var (w, b, x, t, e) = Layer(16, 32, 256, 5, relu, scheme);
        var options = new AdaRoundOptions { Iterations = 1500, Seed = 3 };
        var result = new AdaRound(w, 32, 16, b, e, x, t, relu: relu).Optimize(options);
        result.AdaRoundMse.Should().BeLessThan(result.NearestMse * 0.5, "learned rounding must beat round-to-nearest on the data it saw");
        result.ChangedFromNearest.Should().BeGreaterThan(0);
        result.Codes.Should().OnlyContain(c => c >= scheme.QMin && c <= scheme.QMax);
        for (int i = 0; i < w.Length; i++)
        {
            float step = e[i / 32].Scale;
            Math.Abs(result.Weights[i] - w[i]).Should().BeLessThan(step * 1.0001f, "AdaRound only chooses between floor and ceiling");
        }

        var again = new AdaRound(w, 32, 16, b, e, x, t, relu: relu).Optimize(options);
        again.Codes.Should().Equal(result.Codes);
    }

    [Fact]
    public void Drawing_a_subset_of_rows_per_sample_still_learns_and_stays_deterministic()
    {
        var scheme = new QuantScheme(4, true, true, false, QuantGranularity.PerChannel(0));
        var (w, b, x, t, e) = Layer(16, 32, 512, 7, relu: true, scheme);
        var options = new AdaRoundOptions { Iterations = 1500, Seed = 2, RowsPerSample = 4 };
        var result = new AdaRound(w, 32, 16, b, e, x, t, rowsPerSample: 16, relu: true).Optimize(options);
        result.AdaRoundMse.Should().BeLessThan(result.NearestMse * 0.9, "a quarter of the rows per step still finds better roundings");
        new AdaRound(w, 32, 16, b, e, x, t, rowsPerSample: 16, relu: true).Optimize(options).Codes.Should().Equal(result.Codes);
        FluentActions.Invoking(() => new AdaRound(w, 32, 16, b, e, x, t, rowsPerSample: 16).Optimize(options with { RowsPerSample = 0 }))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("RowsPerSample");
    }

    [Fact]
    public void Cancellation_progress_and_bad_input()
    {
        var (w, b, x, t, e) = Layer(4, 8, 16, 1, false, new QuantScheme(4, true, true));
        var reports = new List<WorkProgress>();
        new AdaRound(w, 8, 4, b, e, x, t).Optimize(new AdaRoundOptions { Iterations = 300 }, new Progress(reports));
        reports[0].Should().Be(new WorkProgress(0, 300, TimeSpan.Zero), "the first report comes as the work starts");
        reports[^1].Done.Should().Be(300, "the last says all iterations are done");
        reports[^1].Total.Should().Be(300);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        FluentActions.Invoking(() => new AdaRound(w, 8, 4, b, e, x, t).Optimize(cancellationToken: cts.Token)).Should().Throw<OperationCanceledException>();
        FluentActions.Invoking(() => new AdaRound(w, 9, 4, b, e, x, t)).Should().Throw<ArgumentException>().WithParameterName("weights");
        FluentActions.Invoking(() => new AdaRound(w, 8, 4, b, e, x, t[..^1])).Should().Throw<ArgumentException>().WithParameterName("targets");
        FluentActions.Invoking(() => new AdaRound(w, 8, 4, b, QuantEncoding.FromTensor(new QuantScheme(4, true, true, false, QuantGranularity.PerChannel(1)), w, [4, 8]), x, t))
            .Should().Throw<ArgumentException>().WithParameterName("encoding");
        FluentActions.Invoking(() => new AdaRound(w, 8, 4, b, e, x, t).Optimize(new AdaRoundOptions { WarmStart = 1.5f })).Should().Throw<ArgumentOutOfRangeException>();
    }

    private sealed class Progress(List<WorkProgress> into) : IProgress<WorkProgress>
    {
        public void Report(WorkProgress value) => into.Add(value);
    }
}
