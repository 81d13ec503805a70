namespace Quant.Net.Techniques;

/// <summary>
/// Analytical bias correction (Nagel et al., 2019, "Data-Free Quantization", §4.2): quantizing weights W to W̃ shifts a
/// layer's expected output by ε·E[x] with ε = W̃ − W; subtracting that from the bias removes the shift. Where the
/// layer's input is a BatchNorm output (pre-activation N(β, γ²) per channel), optionally through a ReLU, E[x] follows
/// from β and γ alone — no data needed.
/// </summary>
public static class AnalyticalBiasCorrection
{
    /// <summary>
    /// E[x] per channel for x ~ N(β, γ²) (<paramref name="relu"/> false: β) or E[ReLU(x)] = γ·φ(β/γ) + β·Φ(β/γ).
    /// </summary>
    /// <exception cref="ArgumentException">beta and gamma differ in length.</exception>
    public static float[] ExpectedInput(ReadOnlySpan<float> beta, ReadOnlySpan<float> gamma, bool relu)
    {
        if (beta.Length != gamma.Length)
        {
            throw new ArgumentException($"beta has {beta.Length} values, gamma {gamma.Length}.", nameof(gamma));
        }

        var mean = new float[beta.Length];
        for (int c = 0; c < mean.Length; c++)
        {
            double b = beta[c], g = Math.Abs(gamma[c]);
            if (!relu)
            {
                mean[c] = (float)b;
            }
            else if (g == 0)
            {
                mean[c] = (float)Math.Max(b, 0);
            }
            else
            {
                double t = b / g;
                mean[c] = (float)((g * Math.Exp(-0.5 * t * t) / Math.Sqrt(2 * Math.PI)) + (b * NormalCdf(t)));
            }
        }

        return mean;
    }

    /// <summary>
    /// bias[o] −= Σ_c Σ_k (W̃ − W)[o, c, k]·E[x_c]: removes the expected output shift of quantized weights.
    /// </summary>
    /// <param name="weights">FP32 weights [outputs, channels, inner] (depthwise: [channels, 1, inner]).</param>
    /// <param name="quantizedWeights">The weights as the quantized model computes with them (same layout).</param>
    /// <param name="expectedInput">E[x] per input channel.</param>
    /// <param name="inner">Weights per (output, input channel): kernel height × width, 1 for a fully connected layer.</param>
    /// <param name="bias">The bias to correct, one value per output.</param>
    /// <param name="depthwise">Channel c feeds only output c.</param>
    /// <exception cref="ArgumentException">Lengths do not fit the shapes.</exception>
    public static void Correct(ReadOnlySpan<float> weights, ReadOnlySpan<float> quantizedWeights, ReadOnlySpan<float> expectedInput, int inner,
        Span<float> bias, bool depthwise = false)
    {
        int channels = expectedInput.Length;
        if (inner < 1 || channels == 0 || (!depthwise && weights.Length % (channels * inner) != 0))
        {
            throw new ArgumentException($"{weights.Length} weights do not fit {channels} input channels × {inner}.", nameof(weights));
        }

        if (quantizedWeights.Length != weights.Length)
        {
            throw new ArgumentException($"quantizedWeights has {quantizedWeights.Length} values, weights {weights.Length}.", nameof(quantizedWeights));
        }

        int outputs = depthwise ? channels : weights.Length / (channels * inner);
        if (bias.Length != outputs || (depthwise && weights.Length != channels * inner))
        {
            throw new ArgumentException($"The bias must hold {outputs} values for these weights.", nameof(bias));
        }

        // bias −= (W̃ − W)·E[x], i.e. bias += (W − W̃)·E[x].
        var error = new float[weights.Length];
        for (int i = 0; i < error.Length; i++)
        {
            error[i] = weights[i] - quantizedWeights[i];
        }

        ChannelResponse.Add(error, expectedInput, inner, bias, depthwise);
    }

    /// <summary>Φ(t), the standard normal distribution function.</summary>
    private static double NormalCdf(double t) => 0.5 * Erfc(-t / Math.Sqrt(2));

    /// <summary>erfc with relative error below 1.2e-7 everywhere (Numerical Recipes' Chebyshev fit).</summary>
    private static double Erfc(double x)
    {
        double z = Math.Abs(x);
        double t = 1 / (1 + (0.5 * z));
        ReadOnlySpan<double> c = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];
        double poly = 0;
        for (int i = c.Length - 1; i >= 0; i--)
        {
            poly = (poly * t) + c[i];
        }

        double r = t * Math.Exp(-(z * z) + poly);
        return x >= 0 ? r : 2 - r;
    }
}
