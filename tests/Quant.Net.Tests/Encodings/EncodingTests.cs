using FluentAssertions;

namespace Quant.Net.Tests.Encodings;

public sealed class EncodingTests
{
    [Fact]
    public void Asymmetric_uint8_range_includes_zero()
    {
        var p = QuantParams.FromRange(QuantScheme.UInt8Asymmetric, 1f, 5.1f); // widened to [0, 5.1]
        p.Scale.Should().Be((float)(5.1f / 255.0)); // computed in double precision
        p.ZeroPoint.Should().Be(0);
        var q = QuantParams.FromRange(QuantScheme.UInt8Asymmetric, -1f, 1f);
        q.Scale.Should().Be((float)(2.0 / 255.0));
        q.ZeroPoint.Should().Be((int)Math.Round(1.0 / q.Scale, MidpointRounding.ToEven)); // 1 / (2/255) ≈ 127.5 up to the float scale
        var n = QuantParams.FromRange(QuantScheme.Int8Asymmetric, -3f, -1f); // widened to [-3, 0]
        n.ZeroPoint.Should().Be(127);
        n.RepresentableMax.Should().Be(0f);
    }

    [Fact]
    public void Symmetric_ranges_keep_the_largest_magnitude_representable()
    {
        var s = QuantParams.FromRange(QuantScheme.Int8SymmetricPerTensor, -0.5f, 2.54f);
        s.Scale.Should().Be((float)(2.54f / 127.0));
        s.ZeroPoint.Should().Be(0);
        (s.QMin, s.QMax).Should().Be((-127, 127));
        var full = QuantParams.FromRange(new QuantScheme(8, true, true), -1f, 1f);
        full.Scale.Should().Be(1f / 127f);
        (full.QMin, full.QMax).Should().Be((-128, 127));
        var u = QuantParams.FromRange(new QuantScheme(8, false, true), -1f, 1f);
        u.ZeroPoint.Should().Be(128);
        var i4 = QuantParams.FromRange(QuantScheme.Int4Block(0), -7f, 3f);
        i4.Scale.Should().Be(1f);
        (i4.QMin, i4.QMax).Should().Be((-8, 7));
        var i16 = QuantParams.FromRange(QuantScheme.Int16Symmetric, -1f, 1f);
        i16.Scale.Should().Be(1f / 32767f);
    }

    [Theory]
    [InlineData(0f, 0f)]
    [InlineData(5f, 5f)]
    [InlineData(-5f, -5f)]
    [InlineData(1e-44f, 1e-44f)]
    [InlineData(-3e38f, 3e38f)]
    public void Degenerate_ranges_still_get_a_valid_encoding(float min, float max)
    {
        foreach (var scheme in new[] { QuantScheme.UInt8Asymmetric, QuantScheme.Int8SymmetricPerTensor, QuantScheme.Int16Symmetric, new QuantScheme(2, false, false) })
        {
            var p = QuantParams.FromRange(scheme, min, max);
            float.IsFinite(p.Scale).Should().BeTrue();
            p.Scale.Should().BeGreaterThan(0f);
            p.ZeroPoint.Should().BeInRange(p.QMin, p.QMax);
            if (Math.Abs(max) < 1e30 && Math.Abs(min) < 1e30)
            {
                // The observed values themselves survive a round trip within half a step.
                var q = new short[2];
                QuantOps.Quantize([min, max], q, p);
                var back = new float[2];
                QuantOps.Dequantize((ReadOnlySpan<short>)q, back, p);
                Math.Abs(back[0] - min).Should().BeLessThanOrEqualTo(p.Scale / 2 + 1e-6f * Math.Abs(min));
                Math.Abs(back[1] - max).Should().BeLessThanOrEqualTo(p.Scale / 2 + 1e-6f * Math.Abs(max));
            }
        }
        QuantParams.FromRange(QuantScheme.UInt8Asymmetric, 0f, 0f).Scale.Should().Be(1f);
    }

    [Fact]
    public void Empty_and_constant_tensors_get_valid_encodings()
    {
        var empty = QuantEncoding.FromTensor(QuantScheme.UInt8Asymmetric, [], [0]);
        empty.Count.Should().Be(1);
        empty.Scales[0].Should().Be(1f);
        var constant = QuantEncoding.FromTensor(QuantScheme.UInt8Asymmetric, [3f, 3f, 3f], [3]);
        constant[0].RepresentableMax.Should().BeApproximately(3f, 1e-6f);
        var nonFinite = QuantEncoding.FromTensor(QuantScheme.UInt8Asymmetric, [float.NaN, 2f, float.PositiveInfinity, -1f], [4]);
        nonFinite.Min[0].Should().Be(-1f);
        nonFinite.Max[0].Should().Be(2f);
    }

    [Fact]
    public void Per_channel_encodings_equal_per_tensor_encodings_of_each_channel()
    {
        float[] data = TestData.Floats(4 * 3 * 5, 21, withSpecials: false);
        int[] shape = [4, 3, 5];
        var perChannel = QuantEncoding.FromTensor(QuantScheme.Int8SymmetricPerChannel(axis: 1), data, shape);
        perChannel.Count.Should().Be(3);
        for (int c = 0; c < 3; c++)
        {
            var channel = new List<float>();
            for (int o = 0; o < 4; o++) channel.AddRange(data.AsSpan((o * 3 + c) * 5, 5).ToArray());
            var single = QuantEncoding.FromTensor(QuantScheme.Int8SymmetricPerTensor, channel.ToArray(), [channel.Count]);
            perChannel[c].Should().Be(single[0]);
        }
        var lastAxis = QuantEncoding.FromTensor(QuantScheme.Int8SymmetricPerChannel(axis: -1), data, shape);
        lastAxis.Count.Should().Be(5);
        lastAxis.GetParameterShape(shape).Should().Equal(5);
    }

    [Fact]
    public void Aimet_convention_round_trips()
    {
        var symmetric = QuantParams.FromRange(new QuantScheme(8, true, true), -1f, 1f);
        var aimet = symmetric.ToAimet(8, isSymmetric: true);
        aimet.Offset.Should().Be(-128);
        aimet.Min.Should().Be(-128 * symmetric.Scale);
        aimet.Max.Should().Be(127 * symmetric.Scale);
        aimet.ToQuantParams(new QuantScheme(8, true, true)).Should().Be(symmetric);

        var strict = QuantParams.FromRange(QuantScheme.Int8SymmetricPerTensor, -1f, 1f);
        var strictAimet = strict.ToAimet(8, isSymmetric: true);
        strictAimet.Offset.Should().Be(-127); // AIMET strict symmetric: -2^(b-1) + 1
        strictAimet.Max.Should().Be(-strictAimet.Min);
        strictAimet.ToQuantParams(QuantScheme.Int8SymmetricPerTensor).Should().Be(strict);

        var asym = QuantParams.FromRange(QuantScheme.UInt8Asymmetric, -0.3f, 2f);
        var asymAimet = asym.ToAimet(8, isSymmetric: false);
        asymAimet.Offset.Should().Be(-asym.ZeroPoint);
        asymAimet.ToQuantParams(QuantScheme.UInt8Asymmetric).Should().Be(asym);
        // The same AIMET encoding read into a signed int8 target shifts the zero point by 128.
        asymAimet.ToQuantParams(-128, 127).ZeroPoint.Should().Be(asym.ZeroPoint - 128);

        var act = () => asymAimet.ToQuantParams(QuantScheme.Int16Symmetric);
        act.Should().Throw<ArgumentException>().WithParameterName("scheme");
    }

    [Fact]
    public void Scheme_ranges_and_presets()
    {
        (QuantScheme.Int8SymmetricPerChannel().QMin, QuantScheme.Int8SymmetricPerChannel().QMax).Should().Be((-127, 127));
        (QuantScheme.UInt8Asymmetric.QMin, QuantScheme.UInt8Asymmetric.QMax).Should().Be((0, 255));
        (QuantScheme.UInt16Asymmetric.QMin, QuantScheme.UInt16Asymmetric.QMax).Should().Be((0, 65535));
        (QuantScheme.Int16Symmetric.QMin, QuantScheme.Int16Symmetric.QMax).Should().Be((-32768, 32767));
        var int4 = QuantScheme.Int4Block(axis: 1, blockSize: 64);
        (int4.QMin, int4.QMax, int4.Granularity.BlockSize).Should().Be((-8, 7, 64));
        new QuantScheme(8, false, true, isNarrowRange: true).QMin.Should().Be(1);
        int4.ToString().Should().Contain("int4").And.Contain("block=64");
    }
}
