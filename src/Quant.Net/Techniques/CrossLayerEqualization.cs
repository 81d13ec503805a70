namespace Quant.Net.Techniques;

/// <summary>
/// Cross-layer equalization (Nagel et al., 2019, "Data-Free Quantization"): for two consecutive layers with a
/// positively homogeneous activation between them (ReLU, identity), scale output channel i of the first layer by
/// 1/sᵢ and input channel i of the second by sᵢ, with sᵢ = √(r1ᵢ·r2ᵢ)/r2ᵢ, so both channels end with the same range
/// √(r1ᵢ·r2ᵢ). The network's function is unchanged; per-tensor weight quantization loses far less.
/// </summary>
public static class CrossLayerEqualization
{
    /// <summary>Equalizes one pair in place and returns the scales sᵢ.</summary>
    /// <param name="first">First layer's weights with output channels as rows: [channels, firstRowLength].</param>
    /// <param name="channels">Channels between the two layers.</param>
    /// <param name="firstBias">First layer's bias (scaled too), or empty.</param>
    /// <param name="second">Second layer's weights [outputs, channels, secondInner] (a depthwise second layer:
    /// [channels, 1, secondInner] with <paramref name="secondIsDepthwise"/>).</param>
    /// <param name="secondInner">Weights per (output, input channel) of the second layer (kernel height × width; 1 for Gemm).</param>
    /// <param name="secondIsDepthwise">The second layer is depthwise: channel i feeds only output i.</param>
    /// <exception cref="ArgumentException">Lengths do not fit the shapes.</exception>
    public static float[] EqualizePair(Span<float> first, int channels, Span<float> firstBias, Span<float> second, int secondInner, bool secondIsDepthwise = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(secondInner, 1);
        if (first.Length % channels != 0 || first.IsEmpty)
        {
            throw new ArgumentException($"The first layer's {first.Length} weights are not {channels} rows.", nameof(first));
        }

        if (!firstBias.IsEmpty && firstBias.Length != channels)
        {
            throw new ArgumentException($"The first layer's bias must be empty or hold {channels} values.", nameof(firstBias));
        }

        if (second.Length % (channels * secondInner) != 0 || second.IsEmpty)
        {
            throw new ArgumentException($"The second layer's {second.Length} weights do not have {channels} input channels of {secondInner}.", nameof(second));
        }

        int rowLength = first.Length / channels;
        int outputs = secondIsDepthwise ? 1 : second.Length / (channels * secondInner);
        var scales = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            float r1 = MaxAbs(first.Slice(c * rowLength, rowLength)), r2 = 0;
            for (int o = 0; o < outputs; o++)
            {
                r2 = Math.Max(r2, MaxAbs(second.Slice(((o * channels) + c) * secondInner, secondInner)));
            }

            float s = r1 > 0 && r2 > 0 ? MathF.Sqrt(r1 * r2) / r2 : 1f;
            scales[c] = float.IsFinite(s) && s > 0 ? s : 1f;
        }

        for (int c = 0; c < channels; c++)
        {
            float inverse = 1f / scales[c];
            foreach (ref float v in first.Slice(c * rowLength, rowLength))
            {
                v *= inverse;
            }

            if (!firstBias.IsEmpty)
            {
                firstBias[c] *= inverse;
            }

            for (int o = 0; o < outputs; o++)
            {
                foreach (ref float v in second.Slice(((o * channels) + c) * secondInner, secondInner))
                {
                    v *= scales[c];
                }
            }
        }

        return scales;
    }

    /// <summary>
    /// High-bias absorption after equalization: where the first layer's pre-activation output is N(β, γ²) per channel
    /// (BatchNorm statistics, already divided by the CLE scales), cᵢ = max(0, βᵢ − 3γᵢ) is removed from the first bias
    /// and its effect Σᵢ W2[o, i, ·]·cᵢ added to the second bias. Exact wherever the ReLU input stays above cᵢ (it
    /// almost always does for ±3σ) and the second layer sees no zero padding. <paramref name="beta"/> is lowered by cᵢ too,
    /// so it stays the mean of the first layer's output.
    /// </summary>
    public static void AbsorbHighBias(Span<float> firstBias, Span<float> beta, ReadOnlySpan<float> gamma, ReadOnlySpan<float> second, int secondInner,
        Span<float> secondBias, bool secondIsDepthwise = false)
    {
        int channels = firstBias.Length;
        if (beta.Length != channels || gamma.Length != channels)
        {
            throw new ArgumentException("beta and gamma need one value per channel.", nameof(beta));
        }

        int outputs = secondIsDepthwise ? channels : second.Length / (channels * secondInner);
        if (secondBias.Length != outputs)
        {
            throw new ArgumentException($"The second bias must hold {outputs} values.", nameof(secondBias));
        }

        var absorbed = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            absorbed[c] = Math.Max(0f, beta[c] - (3 * Math.Abs(gamma[c])));
            firstBias[c] -= absorbed[c];
            beta[c] -= absorbed[c];
        }

        ChannelResponse.Add(second, absorbed, secondInner, secondBias, secondIsDepthwise);
    }

    private static float MaxAbs(ReadOnlySpan<float> values)
    {
        float m = 0;
        foreach (float v in values)
        {
            m = Math.Max(m, Math.Abs(v));
        }

        return m;
    }
}
