using FluentAssertions;

namespace Quant.Net.Tests.Primitives;

/// <summary>Hand-worked examples, most from the ONNX QuantizeLinear/DequantizeLinear operator spec and its tests.</summary>
[Trait("Category", "Kernel")]
public sealed class QuantOpsSemanticsTests
{
    private static readonly float[] SpecInput = [0, 2, 3, 1000, -254, -1000];

    [Fact]
    public void Uint8_example_from_the_onnx_spec()
    {
        var y = new byte[6];
        QuantOps.Quantize(SpecInput, y, 2f, (byte)128);
        y.Should().Equal(128, 129, 130, 255, 1, 0);
    }

    [Fact]
    public void Int8_example_from_the_onnx_spec()
    {
        var y = new sbyte[6];
        QuantOps.Quantize(SpecInput, y, 2f, (sbyte)-1);
        y.Should().Equal(-1, 0, 1, 127, -128, -128);
    }

    [Fact]
    public void Int16_and_uint16_saturate_at_both_ends()
    {
        float[] x = [0, -1, 1, -1_000_000, 1_000_000, 3.5f, 4.5f];
        var s = new short[7];
        QuantOps.Quantize(x, s, 0.5f, (short)-100);
        s.Should().Equal(-100, -102, -98, short.MinValue, short.MaxValue, -93, -91);
        var u = new ushort[7];
        QuantOps.Quantize(x, u, 0.5f, (ushort)32767);
        u.Should().Equal(32767, 32765, 32769, 0, 65535, 32774, 32776);
    }

    [Fact]
    public void Ties_round_to_even_after_a_true_division()
    {
        float[] x = [0.5f, 1.5f, 2.5f, 3.5f, -0.5f, -1.5f, -2.5f, -3.5f];
        var y = new sbyte[x.Length];
        QuantOps.Quantize(x, y, 1f, (sbyte)0);
        y.Should().Equal(0, 2, 2, 4, 0, -2, -2, -4);

        // A true division, not a multiply by the reciprocal: the two disagree for some inputs near ties.
        var random = new Random(2);
        var one = new sbyte[1];
        for (int i = 0; i < 20_000; i++)
        {
            float s = (float)(random.NextDouble() * 3 + 0.01);
            float v = (random.Next(-200, 200) + 0.5f) * s;
            QuantOps.Quantize([v], one, s, (sbyte)0);
            float expected = Math.Clamp(MathF.Round(v / s, MidpointRounding.ToEven), -128, 127);
            ((float)one[0]).Should().Be(expected, $"x={v:R} s={s:R}");
        }
    }

    [Fact]
    public void Per_axis_example_from_the_onnx_spec()
    {
        float[] x =
        [
            -162, 10, -100, 232, -20, -50,
            -76, 0, 0, 252, 32, -44,
            245, -485, -960, -270, -375, -470,
        ];
        int[] shape = [1, 3, 3, 2];
        var scheme = new QuantScheme(8, isSigned: false, isSymmetric: false, granularity: QuantGranularity.PerChannel(1));
        var encoding = new QuantEncoding(scheme, [2f, 4f, 5f], [84, 24, 196]);
        var y = new byte[x.Length];
        QuantOps.Quantize(x, shape, encoding, y);
        y.Should().Equal(3, 89, 34, 200, 74, 59, 5, 24, 24, 87, 32, 13, 245, 99, 4, 142, 121, 102);

        var back = new float[x.Length];
        QuantOps.Dequantize((ReadOnlySpan<byte>)y, shape, encoding, back);
        back[0].Should().Be(-162f);
        back[13].Should().Be(-485f);
    }

    [Fact]
    public void Blocked_quantization_uses_the_onnx_scale_layout()
    {
        // x is [3, 5] blocked along axis 1 with block 2: scales are [3, 3] and column j uses scale column j / 2.
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -1, -2, -3, -4, -5];
        int[] shape = [3, 5];
        var scheme = new QuantScheme(8, true, false, granularity: QuantGranularity.PerBlock(1, 2));
        float[] scales = [1, 2, 4, 0.5f, 0.25f, 8, 1, 1, 1];
        int[] zeroPoints = [0, 1, 2, 3, 4, 5, -1, -2, -3];
        var encoding = new QuantEncoding(scheme, scales, zeroPoints);
        encoding.GetParameterShape(shape).Should().Equal(3, 3);
        var y = new sbyte[15];
        QuantOps.Quantize(x, shape, encoding, y);
        for (int r = 0; r < 3; r++)
        {
            for (int c = 0; c < 5; c++)
            {
                int k = r * 3 + c / 2;
                float expected = Math.Clamp(MathF.Round(x[r * 5 + c] / scales[k], MidpointRounding.ToEven) + zeroPoints[k], -128, 127);
                ((float)y[r * 5 + c]).Should().Be(expected, $"element [{r},{c}]");
            }
        }

        // The same blocks along axis 0 of the transposed tensor: inner elements walk the scale rows.
        float[] xt = new float[15];
        for (int r = 0; r < 3; r++) for (int c = 0; c < 5; c++) xt[c * 3 + r] = x[r * 5 + c];
        var schemeT = new QuantScheme(8, true, false, granularity: QuantGranularity.PerBlock(0, 2));
        float[] scalesT = new float[9];
        int[] zeroPointsT = new int[9];
        for (int r = 0; r < 3; r++) for (int b = 0; b < 3; b++) (scalesT[b * 3 + r], zeroPointsT[b * 3 + r]) = (scales[r * 3 + b], zeroPoints[r * 3 + b]);
        var yt = new sbyte[15];
        QuantOps.Quantize(xt, [5, 3], new QuantEncoding(schemeT, scalesT, zeroPointsT), yt);
        for (int r = 0; r < 3; r++) for (int c = 0; c < 5; c++) yt[c * 3 + r].Should().Be(y[r * 5 + c]);
    }

    [Fact]
    public void Dequantize_example_from_the_onnx_spec()
    {
        byte[] q = [0, 3, 128, 255];
        var x = new float[4];
        QuantOps.Dequantize(q, x, 2f, (byte)128);
        x.Should().Equal(-256f, -250f, 0f, 254f);
    }

    [Fact]
    public void Int4_packs_two_values_per_byte_low_nibble_first()
    {
        float[] x = [0, 2, 3, 1000, -254, -1000, 7];
        var p = new QuantParams(2f, 1, -8, 7);
        var packed = new byte[Int4Packing.PackedLength(x.Length)];
        QuantOps.QuantizeInt4(x, packed, p);
        // codes: 1, 2, 3 (1.5 → 2, +1), 7, -8, -8, 5 (3.5 → 4, +1)
        packed.Should().Equal(0x21, 0x73, 0x88, 0x05);
        var back = new float[x.Length];
        QuantOps.DequantizeInt4(packed, back, p);
        back.Should().Equal(0f, 2f, 4f, 12f, -18f, -18f, 8f);

        var unsigned = new QuantParams(1f, 8, 0, 15);
        QuantOps.QuantizeInt4([-9, -1, 0, 6, 100], packed.AsSpan(0, 3), unsigned);
        packed.AsSpan(0, 3).ToArray().Should().Equal(0x70, 0xE8, 0x0F);
    }

    [Fact]
    public void Int4_tensor_with_blocks_round_trips_within_half_a_step()
    {
        float[] x = TestData.Floats(4 * 37, 9, spread: 3f, withSpecials: false);
        int[] shape = [4, 37];
        var encoding = QuantEncoding.FromTensor(QuantScheme.Int4Block(axis: 1, blockSize: 16), x, shape);
        encoding.Count.Should().Be(4 * 3);
        var packed = new byte[Int4Packing.PackedLength(x.Length)];
        QuantOps.QuantizeInt4(x, shape, encoding, packed);
        var back = new float[x.Length];
        QuantOps.DequantizeInt4(packed, shape, encoding, back);
        for (int i = 0; i < x.Length; i++)
        {
            float scale = encoding.Scales[(i / 37) * 3 + (i % 37) / 16];
            Math.Abs(back[i] - x[i]).Should().BeLessThanOrEqualTo(scale / 2 * 1.0001f, $"element {i}");
        }
    }

    [Fact]
    public void Non_finite_inputs_have_a_documented_mapping()
    {
        float[] x = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -float.NaN];
        var y = new byte[4];
        QuantOps.Quantize(x, y, 0.5f, (byte)10);
        y.Should().Equal(0, 255, 0, 0); // NaN → QMin as in ONNX Runtime, ±∞ saturate

        var f = new float[4];
        QuantOps.FakeQuantize(x, f, QuantParams.ForType<byte>(0.5f, 10));
        f.Should().Equal(-5f, 122.5f, -5f, -5f);

        var r = new sbyte[4];
        QuantOps.QuantizeStochastic(x, r, QuantParams.ForType<sbyte>(1f, 0), seed: 1);
        r.Should().Equal(-128, 127, -128, -128);
    }

    [Fact]
    public void Fake_quantize_equals_quantize_then_dequantize_and_works_in_place()
    {
        float[] x = TestData.Floats(1000, 5);
        var p = new QuantParams(0.7f, -3, -127, 127);
        var q = new sbyte[x.Length];
        var expected = new float[x.Length];
        QuantOps.Quantize(x, q, p);
        QuantOps.Dequantize((ReadOnlySpan<sbyte>)q, expected, p);
        QuantOps.FakeQuantize(x, x, p); // in place
        TestData.BitwiseEqual(expected, x);
    }

    [Fact]
    public void Quantize_may_write_over_its_own_source()
    {
        float[] x = TestData.Floats(259, 77);
        var expected = new byte[x.Length];
        QuantOps.Quantize(x, expected, 1.7f, (byte)100);
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan());
        QuantOps.Quantize(x, bytes[..x.Length], 1.7f, (byte)100);
        bytes[..x.Length].ToArray().Should().Equal(expected);
    }

    [Fact]
    public void Stochastic_rounding_is_reproducible_unbiased_and_chunkable()
    {
        float[] x = Enumerable.Repeat(0.3f, 100_000).ToArray();
        var p = QuantParams.ForType<sbyte>(1f, 0);
        var a = new sbyte[x.Length];
        var b = new sbyte[x.Length];
        QuantOps.QuantizeStochastic(x, a, p, seed: 7);
        QuantOps.QuantizeStochastic(x.AsSpan(0, 50_001), b.AsSpan(0, 50_001), p, seed: 7);
        QuantOps.QuantizeStochastic(x.AsSpan(50_001), b.AsSpan(50_001), p, seed: 7, firstIndex: 50_001);
        a.Should().Equal(b);
        a.Should().OnlyContain(v => v == 0 || v == 1);
        a.Average(v => (double)v).Should().BeApproximately(0.3, 0.01);

        var c = new sbyte[x.Length];
        QuantOps.QuantizeStochastic(x, c, p, seed: 8);
        c.Should().NotEqual(a);
    }

    [Fact]
    public void Requantize_with_float_multipliers_rounds_half_to_even_and_saturates()
    {
        int[] acc = [0, 5, 15, 25, -15, 1_000_000, -1_000_000, 7];
        var y = new sbyte[acc.Length];
        QuantOps.Requantize(acc, y, 0.1f, zeroPoint: 3);
        // 0.5 → 0 but (float)5 * 0.1f is 0.50000006 → 1; 15 * 0.1f = 1.5 → 2; 25 * 0.1f = 2.5 → 2
        y.Should().Equal(3, (sbyte)(MathF.Round(5 * 0.1f) + 3), (sbyte)(MathF.Round(15 * 0.1f) + 3), (sbyte)(MathF.Round(25 * 0.1f) + 3), (sbyte)(MathF.Round(-15 * 0.1f) + 3), 127, -128, 4);

        int[] rows = [10, 10, 10, 20, 20, 20];
        var u = new byte[6];
        QuantOps.Requantize(rows, u, [1f, 0.5f, 0.25f], zeroPoint: 128);
        u.Should().Equal(138, 133, 130, 148, 138, 133);
    }

    [Fact]
    public void Requantize_with_fixed_point_multipliers_matches_the_gemmlowp_definition()
    {
        var m = FixedPointMultiplier.FromDouble(0.1);
        m.Multiplier.Should().BeInRange(1 << 30, int.MaxValue);
        m.ToDouble().Should().BeApproximately(0.1, 1e-10);
        FixedPointMultiplier.FromDouble(1.0).Should().Be(new FixedPointMultiplier(1 << 30, 1));
        FixedPointMultiplier.FromDouble(0).Apply(12345).Should().Be(0);

        // x · 0.5: gemmlowp's high multiply rounds ties toward +∞ (its negative nudge is 1 - 2^30).
        var half = FixedPointMultiplier.FromDouble(0.5);
        new[] { 1, 2, 3, -1, -3, 5 }.Select(half.Apply).Should().Equal(1, 1, 2, 0, -1, 3);

        var random = new Random(11);
        for (int i = 0; i < 10_000; i++)
        {
            double real = Math.Exp(random.NextDouble() * 14 - 14); // ≤ 1, so the result always fits in int32
            int acc = random.Next(int.MinValue / 4, int.MaxValue / 4);
            var fp = FixedPointMultiplier.FromDouble(real);
            double exact = acc * fp.ToDouble();
            // Two roundings: half a unit from the final shift plus half a unit of the high product scaled down by the shift.
            Math.Abs(fp.Apply(acc) - exact).Should().BeLessThanOrEqualTo(0.5 + 0.5 * Math.ScaleB(1, Math.Min(fp.Shift, 0)) + 1e-9);
        }

        int[] accs = [100, -100, 1000, 10_000];
        var y = new sbyte[4];
        QuantOps.Requantize(accs, y, [FixedPointMultiplier.FromDouble(0.05)], zeroPoint: -10);
        y.Should().Equal(-5, -15, 40, 127);
    }
}
