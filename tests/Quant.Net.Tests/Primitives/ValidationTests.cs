using FluentAssertions;

namespace Quant.Net.Tests.Primitives;

public sealed class ValidationTests
{
    [Fact]
    public void Length_mismatch_names_the_destination()
    {
        var act = () => QuantOps.Quantize(new float[4], new sbyte[3], 1f, (sbyte)0);
        act.Should().Throw<ArgumentException>().WithParameterName("destination");
        var act2 = () => QuantOps.Dequantize(new byte[4], new float[5], 1f, (byte)0);
        act2.Should().Throw<ArgumentException>().WithParameterName("destination");
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Invalid_scales_are_rejected(float scale)
    {
        var act = () => QuantOps.Quantize(new float[4], new sbyte[4], scale, (sbyte)0);
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("scale");
        var act2 = () => new QuantEncoding(QuantScheme.UInt8Asymmetric, [scale], [0]);
        act2.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("scales");
    }

    [Fact]
    public void Zero_points_outside_the_range_are_rejected()
    {
        var act = () => new QuantParams(1f, 128, -127, 127);
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("zeroPoint");
        var act2 = () => new QuantEncoding(QuantScheme.Int8SymmetricPerChannel(), [1f, 1f], [0, -128]);
        act2.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("zeroPoints");
        var act3 = () => QuantOps.Requantize(new int[2], new byte[2], 1f, zeroPoint: 256);
        act3.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("zeroPoint");
    }

    [Fact]
    public void A_range_that_does_not_fit_the_storage_type_is_rejected()
    {
        var act = () => QuantOps.Quantize(new float[2], new sbyte[2], QuantParams.ForType<short>(1f, 0));
        act.Should().Throw<ArgumentException>().WithParameterName("parameters");
        var act2 = () => QuantOps.QuantizeInt4(new float[2], new byte[1], QuantParams.ForType<sbyte>(1f, 0));
        act2.Should().Throw<ArgumentException>().WithParameterName("parameters");
        var act3 = () => QuantOps.Quantize(new float[2], new int[2], QuantParams.ForType<sbyte>(1f, 0));
        act3.Should().Throw<NotSupportedException>();
    }

    [Fact]
    public void Partial_overlap_is_rejected_but_same_start_is_allowed()
    {
        var buffer = new float[64];
        var act = () => QuantOps.FakeQuantize(buffer.AsSpan(0, 32), buffer.AsSpan(1, 32), QuantParams.ForType<sbyte>(1f, 0));
        act.Should().Throw<ArgumentException>().WithParameterName("destination");
        QuantOps.FakeQuantize(buffer.AsSpan(0, 32), buffer.AsSpan(0, 32), QuantParams.ForType<sbyte>(1f, 0));

        var act2 = () => QuantOps.Quantize(buffer.AsSpan(0, 8), Bytes(buffer).Slice(4, 8), 1f, (byte)0);
        act2.Should().Throw<ArgumentException>().WithParameterName("destination");

        var act3 = () => QuantOps.Dequantize(Bytes(buffer)[..8], buffer.AsSpan(0, 8), 1f, (byte)0);
        act3.Should().Throw<ArgumentException>().WithParameterName("destination");
    }

    private static Span<byte> Bytes(float[] buffer) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(buffer.AsSpan());

    [Fact]
    public void Shapes_and_axes_that_do_not_match_are_rejected()
    {
        var scheme = QuantScheme.Int8SymmetricPerChannel(axis: 0);
        var encoding = new QuantEncoding(scheme, [1f, 1f, 1f], [0, 0, 0]);
        var q = new sbyte[6];
        var act = () => QuantOps.Quantize(new float[6], [2, 3], encoding, q);
        act.Should().Throw<ArgumentException>().WithParameterName("shape").WithMessage("*3 scales*needs 2*");
        var act2 = () => QuantOps.Quantize(new float[6], [3, 3], encoding, q);
        act2.Should().Throw<ArgumentException>().WithParameterName("shape").WithMessage("*9 elements*6*");
        var act3 = () => QuantOps.Quantize(new float[6], [6], new QuantEncoding(QuantScheme.Int8SymmetricPerChannel(axis: 2), [1f], [0]), q);
        act3.Should().Throw<ArgumentException>().WithParameterName("shape").WithMessage("*Axis 2*rank 1*");
        var act4 = () => QuantOps.Quantize(new float[6], [-2, -3], encoding, q);
        act4.Should().Throw<ArgumentException>().WithParameterName("shape");
        var act5 = () => QuantEncoding.FromTensor(scheme, new float[6], [7]);
        act5.Should().Throw<ArgumentException>().WithParameterName("shape");
    }

    [Fact]
    public void Scheme_arguments_are_validated()
    {
        var act = () => new QuantScheme(1, true, true);
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("bitWidth");
        var act2 = () => new QuantScheme(17, true, true);
        act2.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("bitWidth");
        var act3 = () => QuantGranularity.PerBlock(0, 0);
        act3.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("blockSize");
    }

    [Fact]
    public void Ranges_must_be_finite_and_ordered()
    {
        var act = () => QuantParams.FromRange(QuantScheme.UInt8Asymmetric, float.NegativeInfinity, 1f);
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("min");
        var act2 = () => QuantParams.FromRange(QuantScheme.UInt8Asymmetric, 0f, float.NaN);
        act2.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("max");
        var act3 = () => QuantParams.FromRange(QuantScheme.UInt8Asymmetric, 2f, 1f);
        act3.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("min");
    }

    [Fact]
    public void Int4_buffers_must_have_the_packed_length()
    {
        var p = new QuantParams(1f, 0, -8, 7);
        var act = () => QuantOps.QuantizeInt4(new float[5], new byte[2], p);
        act.Should().Throw<ArgumentException>().WithParameterName("packed");
        var act2 = () => QuantOps.DequantizeInt4(new byte[4], new float[5], p);
        act2.Should().Throw<ArgumentException>().WithParameterName("packed");
        var act3 = () => Int4Packing.Pack([1, 16], new byte[1]);
        act3.Should().Throw<ArgumentException>().WithParameterName("values");
    }

    [Fact]
    public void Requantize_needs_whole_rows_and_valid_multipliers()
    {
        var act = () => QuantOps.Requantize(new int[5], new sbyte[5], [1f, 1f], 0);
        act.Should().Throw<ArgumentException>().WithParameterName("multipliers");
        var act2 = () => QuantOps.Requantize(new int[4], new sbyte[4], [1f, float.NaN], 0);
        act2.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("multipliers");
        var act3 = () => QuantOps.Requantize(new int[4], new sbyte[4], ReadOnlySpan<float>.Empty, 0);
        act3.Should().Throw<ArgumentException>().WithParameterName("multipliers");
        var act4 = () => FixedPointMultiplier.FromDouble(-1);
        act4.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("multiplier");
    }
}
