using FluentAssertions;
using Quant.Net.Techniques;

namespace Quant.Net.Tests.Techniques;

public sealed class BatchNormFoldingTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void The_folded_layer_computes_the_layer_followed_by_its_batch_norm(int channelAxis)
    {
        var random = new Random(3 + channelAxis);
        int inputs = 5, channels = 4;
        float[] Rand(int n, double lo, double hi) => [.. Enumerable.Range(0, n).Select(_ => (float)(lo + (random.NextDouble() * (hi - lo))))];
        var w = Rand(inputs * channels, -1, 1);
        int[] shape = channelAxis == 0 ? [channels, inputs] : [inputs, channels];
        float Weight(float[] m, int c, int i) => channelAxis == 0 ? m[(c * inputs) + i] : m[(i * channels) + c];
        var (bias, gamma, beta, mean, variance) = (Rand(channels, -1, 1), Rand(channels, 0.5, 2), Rand(channels, -1, 1), Rand(channels, -1, 1), Rand(channels, 0.1, 2));
        var folded = (float[])w.Clone();
        var foldedBias = (float[])bias.Clone();
        BatchNormFolding.Fold(folded, shape, channelAxis, foldedBias, gamma, beta, mean, variance, 1e-5f);

        var x = Rand(inputs, -2, 2);
        for (int c = 0; c < channels; c++)
        {
            double z = bias[c], y = foldedBias[c];
            for (int i = 0; i < inputs; i++)
            {
                z += Weight(w, c, i) * x[i];
                y += Weight(folded, c, i) * x[i];
            }

            double expected = (gamma[c] * (z - mean[c]) / Math.Sqrt(variance[c] + 1e-5)) + beta[c];
            y.Should().BeApproximately(expected, 1e-5);
        }
    }

    [Fact]
    public void Lengths_that_do_not_match_the_channel_axis_are_refused_by_name()
    {
        var act = () => BatchNormFolding.Fold(new float[6], [2, 3], 0, new float[3], new float[2], new float[2], new float[2], new float[2], 1e-5f);
        act.Should().Throw<ArgumentException>().WithParameterName("gamma");
        act = () => BatchNormFolding.Fold(new float[6], [2, 3], 2, new float[2], new float[2], new float[2], new float[2], new float[2], 1e-5f);
        act.Should().Throw<ArgumentException>().WithParameterName("shape");
    }
}
