namespace Quant.Net.Techniques;

/// <summary>
/// Weight encodings that stay exact on int8 kernels which add two u8×s8 products into a saturating int16 before
/// widening (x86 <c>vpmaddubsw</c>: ONNX Runtime's u8s8 kernels on AVX2 and AVX-512 without VNNI). Such a kernel is exact
/// when no pair of products can leave [−32768, 32767]. With activation codes in [0, A] (A = 255 for uint8) and weight
/// codes q, every pair is within range when, per output channel, the two largest positive codes sum to at most
/// ⌊32767 / A⌋ and the two largest negative magnitudes to at most ⌊32768 / A⌋ — whichever two elements the kernel pairs.
/// Because the bound holds for any pairing, it does not depend on how a runtime orders the reduction axis.
/// </summary>
/// <remarks>
/// ONNX Runtime's own tool offers <c>reduce_range</c> (7-bit weights, |q| ≤ 64) for the same problem; that is the
/// worst case of this rule. Here a channel keeps its full 8-bit scale when its two largest same-signed weights are small
/// enough, and otherwise gets the smallest scale that keeps every pair in range — never coarser than reduce-range.
/// </remarks>
public static class PairwiseInt16Safety
{
    /// <summary>
    /// Symmetric int8 weight encodings (per tensor or per channel, as <paramref name="scheme"/> says) whose codes keep every
    /// pair of u8×s8 products within int16 for activation codes in [0, <paramref name="activationCodeMax"/>].
    /// </summary>
    /// <param name="scheme">A signed, symmetric, 8-bit per-tensor or per-channel scheme.</param>
    /// <param name="weights">The weights, row-major.</param>
    /// <param name="shape">The weights' shape.</param>
    /// <param name="activationCodeMax">Largest activation code the kernel multiplies (255 for uint8; int8 activations are shifted to uint8 by the runtimes concerned).</param>
    /// <param name="roundingSlack">Codes may move this far from round-to-nearest after the encoding is chosen (1 for AdaRound, which picks floor or ceiling).</param>
    /// <exception cref="ArgumentException">The scheme is not signed symmetric 8-bit per-tensor/per-channel, or the shape does not fit.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="activationCodeMax"/> is not in [1, 255], or <paramref name="roundingSlack"/> not in [0, 8].</exception>
    public static QuantEncoding Encode(QuantScheme scheme, ReadOnlySpan<float> weights, ReadOnlySpan<int> shape, int activationCodeMax = 255, int roundingSlack = 0)
    {
        if (!scheme.IsSigned || !scheme.IsSymmetric || scheme.BitWidth != 8 || scheme.Granularity.Kind == QuantGranularityKind.PerBlock)
        {
            throw new ArgumentException($"Pair-safe encodings are for signed symmetric 8-bit per-tensor or per-channel weights; got {scheme}.", nameof(scheme));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(activationCodeMax, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(activationCodeMax, 255);
        ArgumentOutOfRangeException.ThrowIfNegative(roundingSlack);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(roundingSlack, 8);
        var layout = TensorLayout.Create(shape, weights.Length, scheme.Granularity, nameof(shape));
        var extremes = TopTwo.Measure(weights, layout);
        int positiveLimit = short.MaxValue / activationCodeMax - 2 * roundingSlack;
        int negativeLimit = -short.MinValue / activationCodeMax - 2 * roundingSlack;
        int codeMax = scheme.QMax;
        var min = new float[layout.ParameterCount];
        var max = new float[layout.ParameterCount];
        for (int c = 0; c < min.Length; c++)
        {
            var e = extremes[c];
            // The scale that maps the pair sums onto the limits: with round-half-to-even, two codes whose exact quotients
            // sum to at most L (an integer) round to at most L together (both would have to round up from odd halves).
            double magnitude = Math.Max(e.Positive1, e.Negative1);
            double scale = Math.Max(magnitude / codeMax,
                Math.Max((e.Positive1 + e.Positive2) / positiveLimit, (e.Negative1 + e.Negative2) / negativeLimit));
            float m = (float)(scale * codeMax);
            (min[c], max[c]) = (-m, m);
        }

        var encoding = QuantEncoding.FromRanges(scheme, min, max);
        // Float rounding of the scale can tip a quotient over a tie; widen any channel that breaks the bound and retry.
        for (int attempt = 0; attempt < 8; attempt++)
        {
            var worst = WorstPairCodes(encoding, weights, shape);
            bool widened = false;
            for (int c = 0; c < min.Length; c++)
            {
                if (worst[c].Positive > positiveLimit || worst[c].Negative > negativeLimit)
                {
                    (min[c], max[c]) = (min[c] * 1.0001f, max[c] * 1.0001f);
                    widened = true;
                }
            }

            if (!widened)
            {
                return encoding;
            }

            encoding = QuantEncoding.FromRanges(scheme, min, max);
        }

        return encoding;
    }

    /// <summary>
    /// Per channel (or once per tensor), the largest sum of two positive codes and of two negative code magnitudes that
    /// quantizing <paramref name="weights"/> with <paramref name="encoding"/> (round half to even) produces.
    /// Multiply by the largest activation code to get the worst pair sum a saturating kernel can see. Non-finite weights
    /// are ignored (they have no meaningful code).
    /// </summary>
    /// <param name="encoding">A per-tensor or per-channel encoding.</param>
    /// <param name="weights">The float weights, row-major.</param>
    /// <param name="shape">Their shape.</param>
    /// <exception cref="ArgumentException">The encoding is blocked or does not fit the shape.</exception>
    public static (int Positive, int Negative)[] WorstPairCodes(QuantEncoding encoding, ReadOnlySpan<float> weights, ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        if (encoding.Scheme.Granularity.Kind == QuantGranularityKind.PerBlock)
        {
            throw new ArgumentException("Pair sums are defined for per-tensor or per-channel encodings.", nameof(encoding));
        }

        var layout = encoding.Layout(shape, weights.Length, nameof(shape));
        if (encoding.Scheme.BitWidth > 16 || (encoding.Scheme.BitWidth == 16 && !encoding.Scheme.IsSigned))
        {
            throw new ArgumentException($"Pair sums are defined for codes of at most 16 signed bits; got {encoding.Scheme}.", nameof(encoding));
        }

        var codes = new short[weights.Length];
        QuantOps.Quantize<short>(weights, shape, encoding, codes);
        var centered = new float[codes.Length];
        for (int i = 0; i < codes.Length; i++)
        {
            centered[i] = float.IsFinite(weights[i]) ? codes[i] - encoding.ZeroPoints[encoding.Count == 1 ? 0 : ChannelOf(layout, i)] : 0f;
        }

        return Worst(centered, layout);
    }

    /// <summary>As <see cref="WorstPairCodes(QuantEncoding, ReadOnlySpan{float}, ReadOnlySpan{int})"/> for integer codes already made (for example rounded by AdaRound).</summary>
    /// <param name="codes">Weight codes, row-major.</param>
    /// <param name="shape">Their shape.</param>
    /// <param name="granularity">Per-tensor or per-channel.</param>
    /// <param name="zeroPoints">Zero point of each channel (one for per-tensor).</param>
    public static (int Positive, int Negative)[] WorstPairCodes(ReadOnlySpan<int> codes, ReadOnlySpan<int> shape, QuantGranularity granularity, ReadOnlySpan<int> zeroPoints)
    {
        var layout = TensorLayout.Create(shape, codes.Length, granularity, nameof(shape));
        if (layout.ParameterCount != zeroPoints.Length)
        {
            throw new ArgumentException($"Expected {layout.ParameterCount} zero points; got {zeroPoints.Length}.", nameof(zeroPoints));
        }

        var centered = new float[codes.Length];
        for (int i = 0; i < codes.Length; i++)
        {
            centered[i] = codes[i] - zeroPoints[layout.ParameterCount == 1 ? 0 : ChannelOf(layout, i)];
        }

        return Worst(centered, layout);
    }

    /// <summary>Per group, the sums of the two largest positive and the two largest negative-magnitude centred codes.</summary>
    private static (int Positive, int Negative)[] Worst(ReadOnlySpan<float> centered, TensorLayout layout)
    {
        var top = TopTwo.Measure(centered, layout);
        var result = new (int, int)[top.Length];
        for (int c = 0; c < top.Length; c++)
        {
            result[c] = ((int)(top[c].Positive1 + top[c].Positive2), (int)(top[c].Negative1 + top[c].Negative2));
        }

        return result;
    }

    private static int ChannelOf(TensorLayout layout, int element) => element / layout.Inner % layout.AxisLength;

    /// <summary>The two largest positive values and the two largest negative magnitudes of each group (0 where absent).</summary>
    private ref struct TopTwo(ReadOnlySpan<float> data, (double, double, double, double)[] top) : IRunAction
    {
        private readonly ReadOnlySpan<float> _data = data;

        public static (double Positive1, double Positive2, double Negative1, double Negative2)[] Measure(ReadOnlySpan<float> data, TensorLayout layout)
        {
            var top = new (double, double, double, double)[layout.ParameterCount];
            var action = new TopTwo(data, top);
            layout.ForEachRun(ref action);
            return top;
        }

        public void Run(int offset, int length, int parameterIndex, bool varying)
        {
            for (int i = 0; i < length; i++)
            {
                double v = _data[offset + i];
                if (!double.IsFinite(v))
                {
                    continue;
                }

                ref var t = ref top[varying ? parameterIndex + i : parameterIndex];
                if (v > 0)
                {
                    if (v > t.Item1) (t.Item1, t.Item2) = (v, t.Item1);
                    else if (v > t.Item2) t.Item2 = v;
                }
                else if (v < 0)
                {
                    if (-v > t.Item3) (t.Item3, t.Item4) = (-v, t.Item3);
                    else if (-v > t.Item4) t.Item4 = -v;
                }
            }
        }
    }
}
