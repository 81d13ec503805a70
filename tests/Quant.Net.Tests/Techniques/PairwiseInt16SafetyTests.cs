using Quant.Net.Techniques;
using CsCheck;
using FluentAssertions;

namespace Quant.Net.Tests.Techniques;

/// <summary>
/// Pair-safe int8 weight encodings: whatever two codes of a channel a kernel pairs, 255·(q_i + q_j) stays inside int16,
/// checked here by brute force over every pair; the scale is never coarser than reduce-range (7-bit) and equals the
/// plain 8-bit scale when the two largest same-signed weights leave room.
/// </summary>
public sealed class PairwiseInt16SafetyTests
{
    private static long WorstPairProduct(short[] codes, int channels, int perChannel)
    {
        long worst = 0;
        for (int c = 0; c < channels; c++)
        {
            for (int i = 0; i < perChannel; i++)
            {
                for (int j = i + 1; j < perChannel; j++)
                {
                    long a = codes[c * perChannel + i], b = codes[c * perChannel + j];
                    // Activations are 0 or 255: the extreme pair sums are 255·(sum of the same-signed codes).
                    long positive = 255L * (Math.Max(a, 0) + Math.Max(b, 0)), negative = 255L * (Math.Min(a, 0) + Math.Min(b, 0));
                    worst = Math.Max(worst, Math.Max(positive - short.MaxValue, short.MinValue - negative));
                }
            }
        }

        return worst;   // > 0: some pair leaves int16
    }

    [Fact]
    public void Every_pair_of_codes_stays_in_int16_for_random_channels()
    {
        Gen.Int[1, 6].SelectMany(channels => Gen.Int[1, 40].SelectMany(k => Gen.Float[-3f, 3f].Array[channels * k].Select(w => (channels, k, w))))
            .Sample(t =>
            {
                var (channels, k, w) = t;
                var scheme = QuantScheme.Int8SymmetricPerChannel(axis: 0);
                var encoding = PairwiseInt16Safety.Encode(scheme, w, [channels, k]);
                var codes = new short[w.Length];
                QuantOps.Quantize<short>(w, [channels, k], encoding, codes);
                WorstPairProduct(codes, channels, k).Should().BeLessThanOrEqualTo(0);
                var plain = QuantEncoding.FromTensor(scheme, w, [channels, k]);
                for (int c = 0; c < channels; c++)
                {
                    float max = w.AsSpan(c * k, k).ToArray().Max(Math.Abs);
                    encoding.Scales[c].Should().BeGreaterThanOrEqualTo(plain.Scales[c], "never finer than the plain 8-bit scale");
                    if (max > 1e-6f)
                    {
                        encoding.Scales[c].Should().BeLessThanOrEqualTo(max / 64f * 1.0002f, "never coarser than reduce-range (|q| <= 64)");
                    }
                }
            }, iter: 400);
    }

    [Fact]
    public void A_channel_with_one_large_weight_keeps_its_8_bit_scale()
    {
        float[] w = [1.0f, 0.001f, -0.002f, 0.003f, /* channel 2 */ 0.9f, 0.9f, -0.1f, 0.2f];
        var encoding = PairwiseInt16Safety.Encode(QuantScheme.Int8SymmetricPerChannel(axis: 0), w, [2, 4]);
        encoding.Scales[0].Should().Be((float)(1.0 / 127), "1.0 + 0.003 needs only 127 + 1 codes");
        encoding.Scales[1].Should().BeApproximately(1.8f / 128, 1e-6f, "two equal large weights share the 128-code budget");
        var codes = new short[8];
        QuantOps.Quantize<short>(w, [2, 4], encoding, codes);
        codes[4].Should().Be(64);
        PairwiseInt16Safety.WorstPairCodes(encoding, w, [2, 4]).Should().Equal((127, 0), (128, 7));
    }

    [Fact]
    public void Rounding_slack_leaves_room_for_floor_or_ceiling_rounding()
    {
        var w = Enumerable.Range(0, 64).Select(i => (float)Math.Sin(i * 0.7) * 2).ToArray();
        var encoding = PairwiseInt16Safety.Encode(QuantScheme.Int8SymmetricPerChannel(axis: 0), w, [2, 32], roundingSlack: 1);
        foreach (var (positive, negative) in PairwiseInt16Safety.WorstPairCodes(encoding, w, [2, 32]))
        {
            positive.Should().BeLessThanOrEqualTo(126);
            negative.Should().BeLessThanOrEqualTo(126);
        }
    }

    [Fact]
    public void Per_tensor_zero_and_non_finite_weights_get_valid_encodings()
    {
        float[] w = [0f, 0f, float.NaN, float.PositiveInfinity, 0.5f, 0.5f];
        var encoding = PairwiseInt16Safety.Encode(QuantScheme.Int8SymmetricPerTensor, w, [6]);
        encoding.Scales[0].Should().BeApproximately(1f / 128, 1e-7f);
        PairwiseInt16Safety.Encode(QuantScheme.Int8SymmetricPerTensor, new float[4], [4]).Scales[0].Should().Be(1f);
    }

    [Fact]
    public void Bad_arguments_are_refused_by_name()
    {
        var act = () => PairwiseInt16Safety.Encode(QuantScheme.UInt8Asymmetric, new float[4], [4]);
        act.Should().Throw<ArgumentException>().WithParameterName("scheme");
        act = () => PairwiseInt16Safety.Encode(QuantScheme.Int4Block(1, 2), new float[4], [2, 2]);
        act.Should().Throw<ArgumentException>().WithParameterName("scheme");
        act = () => PairwiseInt16Safety.Encode(QuantScheme.Int8SymmetricPerTensor, new float[4], [4], activationCodeMax: 0);
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("activationCodeMax");
        act = () => PairwiseInt16Safety.Encode(QuantScheme.Int8SymmetricPerTensor, new float[4], [5]);
        act.Should().Throw<ArgumentException>().WithParameterName("shape");
    }
}
