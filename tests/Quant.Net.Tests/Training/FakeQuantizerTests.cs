using FluentAssertions;
using Quant.Net.Simd;
using Quant.Net.Training;

namespace Quant.Net.Tests.Training;

[Trait("Category", "Kernel")]
public sealed class FakeQuantizerTests
{
    private static float[] Data(int n, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1) * scale)];
    }

    /// <summary>
    /// The STE surrogate at a point: round() replaced by its value there as a constant offset, and the region (inside,
    /// saturated low, saturated high) fixed to the one at the point, so its derivatives are exactly what the
    /// straight-through estimator claims. Finite differences of it check the closed-form gradients.
    /// </summary>
    private static double Surrogate(double x, double s, double z, double x0, double s0, double z0, int qMin, int qMax)
    {
        double zr = Math.Clamp(Math.Round(z0, MidpointRounding.ToEven), qMin, qMax);
        double r0 = Math.Round(x0 / s0, MidpointRounding.ToEven), code0 = r0 + zr;
        double d1 = r0 + zr - (x0 / s0) - z0, d2 = zr - z0;
        double code = code0 < qMin ? qMin : code0 > qMax ? qMax : (x / s) + z + d1;
        return (code - (z + d2)) * s;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Lsq_gradients_match_finite_differences_of_the_straight_through_surrogate(bool perChannel)
    {
        var scheme = new QuantScheme(4, false, false, false, perChannel ? QuantGranularity.PerChannel(0) : QuantGranularity.PerTensor);
        int channels = 3, inner = 40;
        var x = Data(channels * inner, 1, 2f);
        var q = new FakeQuantizer(scheme, RangeLearning.Lsq);
        q.Forward(x.Select(v => v * 0.6f).ToArray(), [channels, inner], new float[x.Length]); // observe a narrower range: some x saturate
        q.StartLearning();
        var dy = Data(x.Length, 2);
        var dx = new float[x.Length];
        q.Backward(x, [channels, inner], dy, dx);
        var (scale, zero) = (q.Parameters.Scale, q.Parameters.ZeroPoint);
        var (gScale, gZero) = (q.Gradients.Scale, q.Gradients.ZeroPoint);
        for (int p = 0; p < scale.Length; p++)
        {
            int count = perChannel ? inner : x.Length;
            double g = 1 / Math.Sqrt(count * scheme.QMax);
            double s0 = scale[p], z0 = zero[p], fdS = 0, fdZ = 0, h = 1e-4;
            for (int i = 0; i < x.Length; i++)
            {
                if (perChannel && i / inner != p)
                {
                    continue;
                }

                double x0 = x[i];
                fdS += dy[i] * (Surrogate(x0, s0 + h, z0, x0, s0, z0, scheme.QMin, scheme.QMax) - Surrogate(x0, s0 - h, z0, x0, s0, z0, scheme.QMin, scheme.QMax)) / (2 * h);
                fdZ += dy[i] * (Surrogate(x0, s0, z0 + h, x0, s0, z0, scheme.QMin, scheme.QMax) - Surrogate(x0, s0, z0 - h, x0, s0, z0, scheme.QMin, scheme.QMax)) / (2 * h);
                double fdX = (Surrogate(x0 + h, s0, z0, x0, s0, z0, scheme.QMin, scheme.QMax) - Surrogate(x0 - h, s0, z0, x0, s0, z0, scheme.QMin, scheme.QMax)) / (2 * h);
                ((double)dx[i]).Should().BeApproximately(dy[i] * fdX, 1e-3);
            }

            ((double)gScale[p]).Should().BeApproximately(fdS * g, (Math.Abs(fdS * g) * 1e-3) + 1e-6);
            ((double)gZero[p]).Should().BeApproximately(fdZ * g, (Math.Abs(fdZ * g) * 1e-3) + 1e-6);
        }

        dx.Should().Contain(0f, "saturated values pass no gradient");
    }

    [Fact]
    public void Evaluation_mode_leaves_the_range_and_the_gradients_alone_and_dx_may_be_omitted()
    {
        var q = new FakeQuantizer(new QuantScheme(8, false, false), RangeLearning.Lsq) { IsTraining = false };
        var x = Data(64, 3, 1f);
        FluentActions.Invoking(() => q.Forward(x, [64], new float[64])).Should().Throw<InvalidOperationException>().WithMessage("*evaluation mode*");
        q.IsTraining = true;
        q.Forward(x, [64], new float[64]);
        var observed = q.ToEncoding();
        q.IsTraining = false;
        var wide = x.Select(v => v * 10).ToArray();
        var y = new float[64];
        q.Forward(wide, [64], y);
        q.ToEncoding().Scales.ToArray().Should().Equal(observed.Scales.ToArray(), "evaluation data never moves the range");
        y.Max().Should().BeLessThanOrEqualTo(observed[0].RepresentableMax, "values beyond the trained range saturate");

        q.IsTraining = true;
        q.StartLearning();
        var dy = Data(64, 4);
        q.IsTraining = false;
        q.Backward(x, [64], dy, new float[64]);
        q.Gradients[0].Should().OnlyContain(g => g == 0, "no parameter gradients in evaluation mode");
        q.IsTraining = true;
        var dx = new float[64];
        q.Backward(x, [64], dy, dx);
        var withDx = q.Gradients[0].ToArray();
        q.ZeroGradients();
        q.Backward(x, [64], dy, []);
        q.Gradients[0].Should().Equal(withDx, "an empty dx gives the same parameter gradients");
    }

    [Fact]
    public void MinMax_range_learning_gradients_match_finite_differences_through_scale_and_zero_point()
    {
        var scheme = new QuantScheme(8, false, false);
        var x = Data(200, 3, 3f);
        var q = new FakeQuantizer(scheme, RangeLearning.MinMax);
        q.Forward(x.Select(v => v * 0.5f).ToArray(), [200], new float[200]);
        q.StartLearning();
        var dy = Data(200, 4);
        q.Backward(x, [200], dy, new float[200]);
        var (min, max) = (q.Parameters.Min, q.Parameters.Max);
        var (gMin, gMax) = (q.Gradients.Min, q.Gradients.Max);
        FluentActions.Invoking(() => q.Parameters.Scale).Should().Throw<InvalidOperationException>().WithMessage("*learns MinMax*Min and Max*");
        q.Parameters.Should().Equal([min, max], "as a list: the two arrays in order");
        q.Parameters.ToString().Should().StartWith("min [").And.Contain("], max [");
        double L = scheme.QMax - scheme.QMin;
        double Loss(double mn, double mx, double mn0, double mx0)
        {
            double s = (mx - mn) / L, z = scheme.QMin - (mn / s), s0 = (mx0 - mn0) / L, z0 = scheme.QMin - (mn0 / s0), sum = 0;
            for (int i = 0; i < x.Length; i++)
            {
                sum += dy[i] * Surrogate(x[i], s, z, x[i], s0, z0, scheme.QMin, scheme.QMax);
            }

            return sum;
        }

        double h = 1e-4, a = min[0], b = max[0];
        double fdMin = (Loss(a + h, b, a, b) - Loss(a - h, b, a, b)) / (2 * h), fdMax = (Loss(a, b + h, a, b) - Loss(a, b - h, a, b)) / (2 * h);
        ((double)gMin[0]).Should().BeApproximately(fdMin, (Math.Abs(fdMin) * 2e-3) + 1e-4);
        ((double)gMax[0]).Should().BeApproximately(fdMax, (Math.Abs(fdMax) * 2e-3) + 1e-4);
    }

    [Fact]
    public void Input_gradient_is_exact_for_every_length_from_0_to_257_including_nan_and_infinities()
    {
        var q = new FakeQuantizer(new QuantScheme(8, true, false), RangeLearning.Lsq);
        q.Forward(Data(64, 1, 1.5f), [64], new float[64]);
        q.StartLearning();
        var p = q.ToEncoding()[0];
        for (int n = 0; n <= 257; n++)
        {
            var x = Data(n, n + 10, 3f);
            if (n > 5)
            {
                x[1] = float.NaN;
                x[3] = float.PositiveInfinity;
                x[5] = float.NegativeInfinity;
            }

            var dy = Data(n, n + 20);
            var dx = new float[n];
            q.Backward(x, [n], dy, dx);
            for (int i = 0; i < n; i++)
            {
                float code = MathF.Round(x[i] / p.Scale, MidpointRounding.ToEven) + p.ZeroPoint;
                bool inside = code >= p.QMin && code <= p.QMax;
                dx[i].Should().Be(inside ? dy[i] : 0f, $"length {n}, element {i}");
            }
        }
    }

    [Fact]
    public void Backward_gives_the_same_input_and_parameter_gradient_bits_at_every_vector_width_as_the_scalar_path()
    {
        foreach (var level in IsaConfig.ElementwiseLevels)
        {
            for (int n = 0; n <= 257; n += n < 40 ? 1 : 37)
            {
                var x = Data(n, n + 30, 3f);
                if (n > 7)
                {
                    x[7] = float.NaN;
                }

                var dy = Data(n, n + 40);
                var results = new List<(float[] Dx, float[] Gradients)>();
                foreach (var width in new[] { SimdLevel.Scalar, level })
                {
                    var q = new FakeQuantizer(new QuantScheme(8, false, false), RangeLearning.Lsq);
                    q.Forward(Data(64, 2, 1.5f), [64], new float[64]);
                    q.StartLearning();
                    var dx = new float[n];
                    q.Backward(x, [n], dy, dx, width);
                    results.Add((dx, [.. q.Gradients[0], .. q.Gradients[1]]));
                }

                results[1].Dx.Should().Equal(results[0].Dx, $"{level}, length {n}");
                // Parameter gradients too: their sums run in 16 virtual lanes in element order on every path.
                results[1].Gradients.Select(BitConverter.SingleToInt32Bits).Should().Equal(
                    results[0].Gradients.Select(BitConverter.SingleToInt32Bits), $"{level}, length {n}");
            }
        }
    }

    [Theory]
    [InlineData(RangeLearning.Lsq, false, 1)]
    [InlineData(RangeLearning.Lsq, true, 1)]
    [InlineData(RangeLearning.MinMax, false, 2)]
    [InlineData(RangeLearning.MinMax, true, 0)]
    public void Per_channel_gradients_and_several_steps_of_learning_are_the_same_bits_at_every_vector_width(RangeLearning learning, bool symmetric, int axis)
    {
        // Shape [3, 5, n]: per channel along an outer axis gives shared runs of n (or 5n) elements starting anywhere,
        // along the last axis a varying run; NaN and saturated values inside; three learning steps, so any difference
        // would compound into the parameters.
        foreach (var level in IsaConfig.ElementwiseLevels)
        {
            foreach (int n in new[] { 1, 7, 16, 17, 33, 67 })
            {
                int[] shape = [3, 5, n];
                int count = 3 * 5 * n;
                var x = Data(count, n + 300, 4f);
                x[count / 2] = float.NaN;
                var dy = Data(count, n + 400);
                var results = new List<float[]>();
                foreach (var width in new[] { SimdLevel.Scalar, level })
                {
                    var scheme = new QuantScheme(8, true, symmetric, false, QuantGranularity.PerChannel(axis));
                    var q = new FakeQuantizer(scheme, learning);
                    q.Forward(Data(count, 7, 1.5f), shape, new float[count]);
                    q.StartLearning();
                    var dx = new float[count];
                    var trace = new List<float>();
                    for (int step = 0; step < 3; step++)
                    {
                        q.ZeroGradients();
                        q.Backward(x, shape, dy, dx, width);
                        trace.AddRange(dx);
                        trace.AddRange(q.Gradients[0]);
                        trace.AddRange(q.Gradients[1]);
                        for (int c = 0; c < q.Parameters[0].Length; c++)
                        {
                            q.Parameters[0][c] -= 0.01f * q.Gradients[0][c];
                            q.Parameters[1][c] -= 0.01f * q.Gradients[1][c];
                        }
                    }

                    results.Add([.. trace]);
                }

                results[1].Select(BitConverter.SingleToInt32Bits).Should().Equal(results[0].Select(BitConverter.SingleToInt32Bits), $"{level}, n = {n}");
            }
        }
    }

    [Fact]
    public void Input_gradient_decides_rounding_ties_and_the_range_edges_exactly_as_the_division_does()
    {
        // Values whose quotient x/s is a tie (k + 0.5) or one ulp either side of one, for many scales, including the
        // codes just inside and outside the range: the backward's reciprocal shortcut must never decide differently.
        var random = new Random(5);
        for (int trial = 0; trial < 200; trial++)
        {
            var q = new FakeQuantizer(new QuantScheme(trial % 2 == 0 ? 8 : 4, trial % 3 == 0, false), RangeLearning.Lsq);
            q.Forward(Data(64, trial, (float)(0.001 + (random.NextDouble() * 50))), [64], new float[64]);
            q.StartLearning();
            var p = q.ToEncoding()[0];
            var x = new List<float>();
            for (int k = p.QMin - p.ZeroPoint - 3; k <= p.QMax - p.ZeroPoint + 3; k++)
            {
                float tie = (k + 0.5f) * p.Scale;
                x.AddRange([tie, MathF.BitIncrement(tie), MathF.BitDecrement(tie), k * p.Scale]);
            }

            var values = x.ToArray();
            var dy = Data(values.Length, trial + 1000);
            var dx = new float[values.Length];
            q.Backward(values, [values.Length], dy, dx);
            for (int i = 0; i < values.Length; i++)
            {
                float code = MathF.Round(values[i] / p.Scale, MidpointRounding.ToEven) + p.ZeroPoint;
                bool inside = code >= p.QMin && code <= p.QMax;
                dx[i].Should().Be(inside ? dy[i] : 0f, $"trial {trial}, x = {values[i]:R}, scale {p.Scale:R}");
            }
        }
    }

    [Fact]
    public void Phases_observe_then_learn_then_freeze()
    {
        var q = new FakeQuantizer(QuantScheme.UInt8Asymmetric);
        FluentActions.Invoking(q.StartLearning).Should().Throw<InvalidOperationException>();
        var x = Data(64, 5, 2f);
        var y = new float[64];
        q.Forward(x, [64], y);
        q.Phase.Should().Be(FakeQuantizerPhase.Observing);
        var expected = new float[64];
        QuantOps.FakeQuantize(x, [64], q.ToEncoding(), expected);
        y.Should().Equal(expected);
        var dx = new float[64];
        q.Backward(x, [64], Enumerable.Repeat(1f, 64).ToArray(), dx);
        q.Gradients[0].Should().BeEmpty("nothing is learned while observing");
        q.StartLearning();
        q.Backward(x, [64], Enumerable.Repeat(1f, 64).ToArray(), dx);
        q.Gradients[0][0].Should().NotBe(0f);
        q.Freeze();
        q.ZeroGradients();
        q.Backward(x, [64], Enumerable.Repeat(1f, 64).ToArray(), dx);
        q.Gradients[0][0].Should().Be(0f);
        q.Phase.Should().Be(FakeQuantizerPhase.Frozen);
    }

    [Fact]
    public void Learning_the_scale_with_lsq_lowers_the_quantization_error_of_heavy_tailed_data()
    {
        var random = new Random(9);
        var x = Enumerable.Range(0, 4096).Select(_ => (float)Math.Pow(random.NextDouble() * 2 - 1, 3) * 4).ToArray();
        var q = new FakeQuantizer(new QuantScheme(3, true, true), RangeLearning.Lsq, new Quant.Net.Observers.MinMaxObserver());
        var y = new float[x.Length];
        q.Forward(x, [x.Length], y);
        q.StartLearning();
        double Mse()
        {
            q.Forward(x, [x.Length], y);
            return x.Zip(y, (a, b) => (double)(a - b) * (a - b)).Average();
        }

        double before = Mse();
        var dx = new float[x.Length];
        for (int step = 0; step < 300; step++)
        {
            q.Forward(x, [x.Length], y);
            var dy = x.Zip(y, (a, b) => 2 * (b - a) / x.Length).ToArray(); // d MSE / dy
            q.ZeroGradients();
            q.Backward(x, [x.Length], dy, dx);
            q.Parameters[0][0] -= 0.05f * q.Gradients[0][0] * 64;
        }

        Mse().Should().BeLessThan(before * 0.8, "min/max is a poor range for 3-bit heavy-tailed data; LSQ finds a clipped one");
    }
}
