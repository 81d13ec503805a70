namespace Quant.Net.Techniques;

/// <summary>
/// How a per-input-channel constant moves a layer's outputs: a constant vᵢ on input channel i adds
/// Σᵢ (Σₖ W[o, i, k])·vᵢ to output o (k over the kernel), or (Σₖ W[i, 0, k])·vᵢ to output i for a depthwise layer.
/// What high-bias absorption moves into the next bias and what analytical bias correction removes.
/// </summary>
internal static class ChannelResponse
{
    /// <summary>bias[o] += Σᵢ (Σₖ weights[o, i, k])·perChannel[i] (depthwise: i = o only), summed in double.</summary>
    /// <param name="weights">[outputs, channels, inner], or [channels, 1, inner] when <paramref name="depthwise"/>.</param>
    /// <param name="perChannel">One value per input channel.</param>
    /// <param name="inner">Weights per (output, input channel).</param>
    /// <param name="bias">One value per output.</param>
    /// <param name="depthwise">Channel i feeds only output i.</param>
    public static void Add(ReadOnlySpan<float> weights, ReadOnlySpan<float> perChannel, int inner, Span<float> bias, bool depthwise)
    {
        int channels = perChannel.Length;
        for (int o = 0; o < bias.Length; o++)
        {
            double shift = 0;
            int first = depthwise ? o : 0, last = depthwise ? o + 1 : channels;
            for (int c = first; c < last; c++)
            {
                if (perChannel[c] == 0)
                {
                    continue;
                }

                double sum = 0;
                foreach (float w in weights.Slice((depthwise ? c : (o * channels) + c) * inner, inner))
                {
                    sum += w;
                }

                shift += sum * perChannel[c];
            }

            bias[o] += (float)shift;
        }
    }
}
