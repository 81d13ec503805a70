using FluentAssertions;
using Quant.Net.Techniques;

namespace Quant.Net.Tests.Techniques;

public sealed class AnalyticalBiasCorrectionTests
{
    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    [Fact]
    public void Expected_input_matches_the_closed_form_and_sampling()
    {
        AnalyticalBiasCorrection.ExpectedInput([0f], [1f], relu: true)[0].Should().BeApproximately((float)(1 / Math.Sqrt(2 * Math.PI)), 1e-6f);
        AnalyticalBiasCorrection.ExpectedInput([0.7f, -2f], [1.3f, 0.5f], relu: false).Should().Equal(0.7f, -2f);
        AnalyticalBiasCorrection.ExpectedInput([2f, -2f], [0f, 0f], relu: true).Should().Equal(2f, 0f);
        var random = new Random(4);
        foreach (var (beta, gamma) in new[] { (0.5f, 1f), (-1.5f, 0.8f), (3f, 0.4f), (-0.2f, 2.5f) })
        {
            double sum = 0;
            const int n = 400_000;
            for (int i = 0; i < n; i++)
            {
                sum += Math.Max(0, beta + (gamma * Gaussian(random)));
            }

            AnalyticalBiasCorrection.ExpectedInput([beta], [gamma], relu: true)[0].Should().BeApproximately((float)(sum / n), 0.01f * gamma, $"beta {beta}, gamma {gamma}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_corrected_layer_has_no_mean_output_shift_on_inputs_with_those_statistics(bool depthwise)
    {
        var random = new Random(depthwise ? 2 : 1);
        int channels = 5, inner = 9, outputs = depthwise ? channels : 7;
        var w = Enumerable.Range(0, outputs * (depthwise ? 1 : channels) * inner).Select(_ => (float)Gaussian(random) * 0.3f).ToArray();
        var wq = w.Select(v => MathF.Round(v * 4) / 4).ToArray();   // coarse rounding: a per-output bias in ε
        var beta = Enumerable.Range(0, channels).Select(_ => (float)Gaussian(random)).ToArray();
        var gamma = Enumerable.Range(0, channels).Select(_ => 0.5f + (float)random.NextDouble()).ToArray();
        var bias = new float[outputs];
        AnalyticalBiasCorrection.Correct(w, wq, AnalyticalBiasCorrection.ExpectedInput(beta, gamma, relu: true), inner, bias, depthwise);

        var before = new double[outputs];
        var after = new double[outputs];
        const int n = 20_000;
        var x = new float[channels * inner];
        for (int s = 0; s < n; s++)
        {
            for (int c = 0; c < channels; c++)
            {
                for (int k = 0; k < inner; k++)
                {
                    x[(c * inner) + k] = Math.Max(0, beta[c] + (gamma[c] * (float)Gaussian(random)));
                }
            }

            for (int o = 0; o < outputs; o++)
            {
                double shift = 0;
                for (int c = depthwise ? o : 0; c < (depthwise ? o + 1 : channels); c++)
                {
                    int at = depthwise ? c * inner : ((o * channels) + c) * inner;
                    for (int k = 0; k < inner; k++)
                    {
                        shift += (wq[at + k] - w[at + k]) * x[(c * inner) + k];
                    }
                }

                before[o] += shift / n;
                after[o] += (shift + bias[o]) / n;
            }
        }

        after.Sum(Math.Abs).Should().BeLessThan(before.Sum(Math.Abs) * 0.1, $"shift {before.Sum(Math.Abs):F4} before, {after.Sum(Math.Abs):F4} after");
    }

    [Fact]
    public void Bad_shapes_are_refused_by_parameter_name()
    {
        FluentActions.Invoking(() => AnalyticalBiasCorrection.ExpectedInput([1f], [1f, 2f], true)).Should().Throw<ArgumentException>().WithParameterName("gamma");
        FluentActions.Invoking(() => AnalyticalBiasCorrection.Correct(new float[10], new float[10], new float[3], 1, new float[3]))
            .Should().Throw<ArgumentException>().WithParameterName("weights");
        FluentActions.Invoking(() => AnalyticalBiasCorrection.Correct(new float[9], new float[8], new float[3], 1, new float[3]))
            .Should().Throw<ArgumentException>().WithParameterName("quantizedWeights");
        FluentActions.Invoking(() => AnalyticalBiasCorrection.Correct(new float[9], new float[9], new float[3], 1, new float[2]))
            .Should().Throw<ArgumentException>().WithParameterName("bias");
    }
}
