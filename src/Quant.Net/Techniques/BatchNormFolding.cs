namespace Quant.Net.Techniques;

/// <summary>
/// Folds an inference-mode batch normalization y = γ·(z − μ)/√(σ² + ε) + β that follows a linear layer z = W·x + b
/// into that layer: W′ = W·f and b′ = (b − μ)·f + β per output channel, f = γ/√(σ² + ε), computed in double. The folded
/// layer computes the same function, and is what quantization then sees (one quantizer instead of two ops).
/// </summary>
public static class BatchNormFolding
{
    /// <summary>Folds the statistics into <paramref name="weights"/> and <paramref name="bias"/> in place.</summary>
    /// <param name="weights">The layer's weights, row-major.</param>
    /// <param name="shape">Their shape.</param>
    /// <param name="channelAxis">The output-channel axis of <paramref name="weights"/> (0 for [out, in, ...], 1 for a [in, out] matrix).</param>
    /// <param name="bias">In: the layer's bias per output channel (zeros if it has none). Out: the folded bias.</param>
    /// <param name="gamma">Batch-norm scale γ per channel.</param>
    /// <param name="beta">Batch-norm shift β per channel.</param>
    /// <param name="mean">Running mean μ per channel.</param>
    /// <param name="variance">Running variance σ² per channel.</param>
    /// <param name="epsilon">ε added to the variance.</param>
    /// <exception cref="ArgumentException">The shape does not fit the weights, the axis is outside it, or a per-channel length differs from the channel count.</exception>
    public static void Fold(Span<float> weights, ReadOnlySpan<int> shape, int channelAxis, Span<float> bias, ReadOnlySpan<float> gamma,
        ReadOnlySpan<float> beta, ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, float epsilon)
    {
        var layout = TensorLayout.Create(shape, weights.Length, QuantGranularity.PerChannel(channelAxis), nameof(shape));
        int channels = layout.AxisLength;
        if (bias.Length != channels || gamma.Length != channels || beta.Length != channels || mean.Length != channels || variance.Length != channels)
        {
            throw new ArgumentException(
                $"Bias, gamma, beta, mean and variance need {channels} values (the channel axis of the weights); got {bias.Length}, {gamma.Length}, {beta.Length}, {mean.Length}, {variance.Length}.",
                nameof(gamma));
        }

        var factor = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            factor[c] = gamma[c] / Math.Sqrt((double)variance[c] + epsilon);
            bias[c] = (float)((((double)bias[c] - mean[c]) * factor[c]) + beta[c]);
        }

        for (int o = 0; o < layout.Outer; o++)
        {
            for (int c = 0; c < channels; c++)
            {
                var run = weights.Slice(((o * channels) + c) * layout.Inner, layout.Inner);
                for (int i = 0; i < run.Length; i++)
                {
                    run[i] = (float)(run[i] * factor[c]);
                }
            }
        }
    }
}
