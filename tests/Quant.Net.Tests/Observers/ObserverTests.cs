using Quant.Net.Simd;
using FluentAssertions;
using Quant.Net.Observers;

namespace Quant.Net.Tests.Observers;

public sealed class ObserverTests
{
    private static readonly QuantScheme UInt8 = QuantScheme.UInt8Asymmetric;
    private static readonly QuantScheme Int8 = QuantScheme.Int8SymmetricPerTensor;
    private static readonly QuantScheme UInt4 = new(4, false, false);
    private static readonly QuantScheme Int4 = new(4, true, true, true);

    public static TheoryData<string> Kinds => new() { "minmax", "moving", "percentile", "mse", "entropy", "sqnr" };

    private static Observer Create(string kind, int? axis = null) => kind switch
    {
        "minmax" => new MinMaxObserver(axis),
        "moving" => new MovingAverageMinMaxObserver(channelAxis: axis),
        "percentile" => new PercentileObserver(channelAxis: axis),
        "mse" => new HistogramMseObserver(channelAxis: axis),
        "entropy" => new EntropyObserver(channelAxis: axis),
        "sqnr" => new SqnrObserver(channelAxis: axis),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Positive_data_far_from_zero_gets_a_valid_range_that_reaches_it(string kind)
    {
        // Seen on BERT calibration with the entropy observer: a clipping threshold below every value made min > max.
        foreach (float top in new[] { 0.0037739256f, 0.5f, 1f, 7f })
        {
            foreach (int n in new[] { 50, 332, 1000, 4096 })
            {
                // n values spread evenly over [0.8·top, top]: nothing near zero.
                var data = Enumerable.Range(0, n).Select(i => top * (0.8f + (0.2f * i / (n - 1)))).ToArray();
                foreach (var scheme in new[] { UInt8, Int8 })
                {
                    var observer = Create(kind);
                    observer.Observe(data);
                    var encoding = observer.ComputeEncoding(scheme);
                    encoding[0].RepresentableMax.Should().BeGreaterThanOrEqualTo(0.8f * top, $"{kind}: the range must reach data in [{0.8f * top}, {top}] ({n} values)");
                }
            }
        }
    }

    [Fact]
    public void MinMax_skips_and_counts_non_finite_values()
    {
        var o = new MinMaxObserver();
        o.Observe([1f, -2f, 3f]);
        o.Observe([0.5f, float.NaN, float.PositiveInfinity, float.NegativeInfinity]);
        o.Observe([]);
        (o.ObservedMin[0], o.ObservedMax[0]).Should().Be((-2f, 3f));
        (o.FiniteCount, o.NaNCount, o.InfinityCount).Should().Be((4, 1, 2));
        o.ComputeEncoding(UInt8)[0].Should().Be(QuantParams.FromRange(UInt8, -2f, 3f));
    }

    [Fact]
    [Trait("Category", "Kernel")]
    public void MinMax_one_pass_kernel_matches_the_filtering_reference_on_every_path()
    {
        foreach (var level in IsaConfig.ElementwiseLevels)
        {
            for (int n = 0; n <= 257; n++)
            {
                float[] x = TestData.Floats(n, n + 5);
                RangeKernels.Compute(level, x).Should().Be(RangeKernels.Filtering(x), $"n={n} level={level}");
                float[] finite = TestData.Floats(n, n + 6, withSpecials: false);
                RangeKernels.Compute(level, finite).Should().Be(RangeKernels.Filtering(finite), $"finite n={n} level={level}");
            }
        }
    }

    [Fact]
    public void Moving_average_follows_its_formula_and_merges_like_one_stream()
    {
        var o = new MovingAverageMinMaxObserver(averagingConstant: 0.5);
        o.Observe([0f, 1f]);
        o.Observe([0f, 3f]);
        o.Observe([float.NaN]); // no finite value: not a batch
        o.ComputeEncoding(UInt8)[0].Should().Be(QuantParams.FromRange(UInt8, 0f, 2f));

        var a = new MovingAverageMinMaxObserver(0.1);
        var b = new MovingAverageMinMaxObserver(0.1);
        var all = new MovingAverageMinMaxObserver(0.1);
        for (int i = 0; i < 7; i++)
        {
            float[] batch = Distributions.Gaussian(100, i, sigma: 1 + i);
            (i < 4 ? a : b).Observe(batch);
            all.Observe(batch);
        }
        a.Merge(b);
        var merged = a.ComputeEncoding(UInt8)[0];
        var sequential = all.ComputeEncoding(UInt8)[0];
        merged.Scale.Should().BeApproximately(sequential.Scale, sequential.Scale * 1e-6f);
        merged.ZeroPoint.Should().Be(sequential.ZeroPoint);
        var act = () => a.Merge(new MovingAverageMinMaxObserver(0.2));
        act.Should().Throw<ArgumentException>().WithParameterName("other");
    }

    [Fact]
    public void Histogram_grows_by_merging_bins_without_losing_mass()
    {
        var o = new HistogramMseObserver(bins: 64);
        o.Observe([0f, 0f]);               // zeros only: no width yet
        o.HistogramOf(0).Exponent.Should().BeNull();
        o.Observe([1f, 0.5f]);
        int? first = o.HistogramOf(0).Exponent;
        o.Observe([1000f]);
        o.Observe([-5000f, float.NaN, float.NegativeInfinity]);
        var h = o.HistogramOf(0);
        h.Exponent.Should().BeGreaterThan(first!.Value);
        h.Counts.ToArray().Sum().Should().Be(6);
        (5000 < 32 * h.BinWidth).Should().BeTrue("the width covers the largest magnitude");
        (5000 >= 16 * h.BinWidth).Should().BeTrue("and is the smallest that does");
        (o.NaNCount, o.InfinityCount).Should().Be((1, 1));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Merging_equals_observing_both_streams(string kind)
    {
        var a = Create(kind);
        var b = Create(kind);
        var all = Create(kind);
        var batches = new[] { Distributions.Laplace(500, 1, b: 0.01), Distributions.StudentT(700, 2), Distributions.Relu(300, 3), Distributions.WithOutliers(900, 4) };
        for (int i = 0; i < batches.Length; i++)
        {
            (i % 2 == 0 ? a : b).Observe(batches[i]);
        }
        // Sequential order must be a's batches then b's for the moving average.
        all.Observe(batches[0]); all.Observe(batches[2]); all.Observe(batches[1]); all.Observe(batches[3]);
        a.Merge(b);
        foreach (var scheme in new[] { UInt8, Int8, UInt4 })
        {
            var merged = a.ComputeEncoding(scheme)[0];
            var sequential = all.ComputeEncoding(scheme)[0];
            if (kind == "moving") merged.Scale.Should().BeApproximately(sequential.Scale, sequential.Scale * 1e-6f);
            else merged.Should().Be(sequential, $"{kind} {scheme}");
        }
        if (a is HistogramObserver ha) ha.HistogramOf(0).Counts.ToArray().Should().Equal(((HistogramObserver)all).HistogramOf(0).Counts.ToArray());
        a.FiniteCount.Should().Be(all.FiniteCount);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Per_channel_results_equal_per_tensor_results_of_each_channel(string kind)
    {
        int[] shape = [4, 3, 50];
        float[] data = new float[4 * 3 * 50];
        for (int o = 0; o < 4; o++)
            for (int c = 0; c < 3; c++)
                Distributions.Laplace(50, o * 3 + c, b: Math.Pow(10, c - 1)).CopyTo(data, (o * 3 + c) * 50);
        foreach (int axis in new[] { 1, -1 })
        {
            var perChannel = Create(kind, axis);
            perChannel.Observe(data, shape);
            int channels = axis == 1 ? 3 : 50;
            perChannel.ChannelCount.Should().Be(channels);
            var scheme = QuantScheme.UInt8Asymmetric.WithGranularity(QuantGranularity.PerChannel(axis));
            var encoding = perChannel.ComputeEncoding(scheme);
            for (int c = 0; c < channels; c++)
            {
                var values = new List<float>();
                for (int i = 0; i < data.Length; i++)
                {
                    int channel = axis == 1 ? i / 50 % 3 : i % 50;
                    if (channel == c) values.Add(data[i]);
                }
                var single = Create(kind);
                single.Observe(values.ToArray());
                encoding[c].Should().Be(single.ComputeEncoding(UInt8)[0], $"{kind} axis {axis} channel {c}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Empty_constant_and_non_finite_inputs_give_valid_encodings(string kind)
    {
        var empty = Create(kind);
        empty.Observe([]);
        empty.ComputeEncoding(UInt8)[0].Scale.Should().Be(1f);

        var constant = Create(kind);
        constant.Observe([5f, 5f, 5f, 5f]);
        var p = constant.ComputeEncoding(UInt8)[0];
        var q = new byte[1];
        QuantOps.Quantize([5f], q, p);
        var back = new float[1];
        QuantOps.Dequantize((ReadOnlySpan<byte>)q, back, p);
        back[0].Should().BeApproximately(5f, p.Scale / 2 + 1e-6f, kind);

        var poisoned = Create(kind);
        poisoned.Observe([float.NaN, 1f, float.PositiveInfinity, -1f, float.NegativeInfinity, float.NaN]);
        var e = poisoned.ComputeEncoding(Int8)[0];
        float.IsFinite(e.Scale).Should().BeTrue();
        e.RepresentableMax.Should().BeLessThanOrEqualTo(1.01f);
        (poisoned.NaNCount, poisoned.InfinityCount, poisoned.FiniteCount).Should().Be((2, 2, 2));
    }

    [Fact]
    public void Percentile_clips_outliers_on_both_sides()
    {
        float[] x = Enumerable.Range(0, 10_000).Select(i => (float)i).Append(1e6f).Append(-1e6f).ToArray();
        var o = new PercentileObserver(percentile: 99);
        o.Observe(x);
        // The ±1e6 outliers set the histogram's range, so quantiles are exact to one bin (1024 wide here).
        double bin = o.HistogramOf(0).BinWidth;
        var asymmetric = o.ComputeEncoding(UInt8);
        asymmetric.Max[0].Should().BeApproximately(9900f, (float)bin);
        asymmetric.Min[0].Should().Be(0f, "the 1% lower tail of 0..9999 ends near 100, and the range always contains 0");
        var sym = o.ComputeEncoding(Int8);
        sym.Max[0].Should().BeApproximately(9900f, (float)bin); // 99% of |x| lies below ~9900
        var minMax = new MinMaxObserver();
        minMax.Observe(x);
        minMax.ComputeEncoding(UInt8)[0].RepresentableMax.Should().BeGreaterThan(9e5f);
    }

    [Fact]
    public void Mse_observer_clips_a_lone_outlier_at_4_bits_and_beats_both_obvious_ranges()
    {
        float[] x = Enumerable.Repeat(1f, 20_000).Concat(Enumerable.Repeat(0.5f, 20_000)).Append(100f).ToArray();
        var mse = new HistogramMseObserver();
        mse.Observe(x);
        var e = mse.ComputeEncoding(UInt4);
        e.Max[0].Should().BeLessThan(50f, "keeping the outlier costs far more rounding error than clipping it");
        double ours = Distributions.QuantizationMse(x, e);
        ours.Should().BeLessThan(Distributions.QuantizationMse(x, QuantEncoding.FromRange(UInt4, 0, 100)));
        ours.Should().BeLessThan(Distributions.QuantizationMse(x, QuantEncoding.FromRange(UInt4, 0, 1)));
    }

    [Fact]
    public void Entropy_and_sqnr_pick_thresholds_between_the_bulk_and_the_outliers()
    {
        float[] x = Distributions.WithOutliers(200_000, 9); // N(0, 1) plus 80, 60 and −45
        var entropy = new EntropyObserver();
        entropy.Observe(x);
        foreach (var scheme in new[] { Int8, UInt8 })
            entropy.ComputeEncoding(scheme)[0].RepresentableMax.Should().BeInRange(2.5f, 40f, $"entropy {scheme}");

        // SQNR weighs clipping 3× rounding: at 8 bits three outliers in 200k are worth keeping, at 4 bits they are not.
        var sqnr = new SqnrObserver();
        sqnr.Observe(x);
        sqnr.ComputeEncoding(Int8)[0].RepresentableMax.Should().BeInRange(4f, 80.5f);
        sqnr.ComputeEncoding(Int4)[0].RepresentableMax.Should().BeInRange(2.5f, 40f);
        sqnr.ComputeEncoding(UInt4)[0].RepresentableMax.Should().BeInRange(2.5f, 40f);
        var relu = new EntropyObserver();
        relu.Observe(Distributions.Relu(100_000, 3));
        var r = relu.ComputeEncoding(UInt8)[0];
        r.ZeroPoint.Should().Be(0, "non-negative data keeps its lower end at 0");
        r.RepresentableMax.Should().BeInRange(2f, 6f);
    }

    [Fact]
    public void Sqnr_candidates_and_gamma_behave_exactly_as_specified()
    {
        float[] x = Enumerable.Range(-500, 1001).Select(i => i / 100f).ToArray(); // uniform on [-5, 5]
        // γ = 0: clipping is free, so the smallest step wins: t = |x|max / 101.
        var free = new SqnrObserver(gamma: 0);
        free.Observe(x);
        free.ComputeEncoding(Int8).Max[0].Should().Be((float)(5.0 * 1 / 101));
        // Clipping weighted enormously: nothing may be clipped, so the full range wins: t = |x|max.
        var strict = new SqnrObserver(gamma: 1e12);
        strict.Observe(x);
        strict.ComputeEncoding(Int8).Max[0].Should().Be(5f);
        // Asymmetric candidates have integer offsets (in steps), so [-5, 5] = offset −127.5 is not on the grid: the
        // largest step (the full span) is chosen, shifted by half a step, and then clamped to the observed data.
        var strictAsymmetric = strict.ComputeEncoding(UInt8);
        strictAsymmetric.Min[0].Should().Be(-5f);
        strictAsymmetric.Max[0].Should().BeApproximately(5f - 5f / 255, 1e-4f);
    }

    [Fact]
    public void Entropy_keeps_the_full_range_of_uniform_data()
    {
        // Every bin holds the same mass: the full window quantizes to exactly uniform Q (KL = 0), while any smaller
        // threshold folds the tails into spikes at its edges.
        float[] x = Enumerable.Range(0, 100_000).Select(i => -1f + 2f * i / 100_000).ToArray();
        var o = new EntropyObserver();
        o.Observe(x);
        var e = o.ComputeEncoding(UInt8);
        (e.Min[0], e.Max[0]).Should().Be((-1f, x[^1]));
    }

    public static TheoryData<int> Bits => new() { 8, 4 };

    [Theory]
    [MemberData(nameof(Bits))]
    public void Mse_observer_never_does_worse_than_min_max_on_heavy_tailed_data(int bits)
    {
        foreach (var (name, data) in Distributions.HeavyTailed(50_000, 17))
        {
            foreach (var scheme in new[] { new QuantScheme(bits, false, false), new QuantScheme(bits, true, true, true) })
            {
                var mse = new HistogramMseObserver();
                var minMax = new MinMaxObserver();
                mse.Observe(data);
                minMax.Observe(data);
                double ours = Distributions.QuantizationMse(data, mse.ComputeEncoding(scheme));
                double baseline = Distributions.QuantizationMse(data, minMax.ComputeEncoding(scheme));
                ours.Should().BeLessThanOrEqualTo(baseline, $"{name} {scheme}");
            }
        }
    }

    [Fact]
    public void Observers_reject_mismatched_use()
    {
        var perTensor = new MinMaxObserver();
        perTensor.Observe([1f]);
        var act = () => perTensor.ComputeEncoding(QuantScheme.Int8SymmetricPerChannel(0));
        act.Should().Throw<ArgumentException>().WithParameterName("scheme");
        var perChannel = new PercentileObserver(channelAxis: 0);
        var act2 = () => perChannel.Observe([1f, 2f]);
        act2.Should().Throw<InvalidOperationException>();
        var act3 = () => perChannel.ComputeEncoding(QuantScheme.Int8SymmetricPerChannel(0));
        act3.Should().Throw<InvalidOperationException>();
        perChannel.Observe([1f, 2f, 3f, 4f], [2, 2]);
        var act4 = () => perChannel.Observe(new float[6], [3, 2]);
        act4.Should().Throw<ArgumentException>().WithParameterName("shape");
        var act5 = () => perChannel.ComputeEncoding(QuantScheme.Int8SymmetricPerChannel(1));
        act5.Should().Throw<ArgumentException>().WithParameterName("scheme");
        var act6 = () => perTensor.Merge(new HistogramMseObserver());
        act6.Should().Throw<ArgumentException>().WithParameterName("other");
        var act7 = () => perTensor.Merge(perTensor);
        act7.Should().Throw<ArgumentException>();
        var act8 = () => new PercentileObserver(percentile: 40);
        act8.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("percentile");
        var act9 = () => new HistogramMseObserver(bins: 100);
        act9.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("bins");
        var act10 = () => perTensor.Observe(new float[3], [2, 2]);
        act10.Should().Throw<ArgumentException>().WithParameterName("shape");
    }
}
