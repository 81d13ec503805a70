using CsCheck;

namespace Quant.Net.Tests.Primitives;

[Trait("Category", "Kernel")]
public sealed class PropertyTests
{
    private static readonly Gen<(float Min, float Max, int Bits, bool Signed, bool Symmetric, float[] Data)> Cases =
        from lo in Gen.Float[-1000f, 0f]
        from hi in Gen.Float[0f, 1000f]
        from bits in Gen.Int[2, 16]
        from signed in Gen.Bool
        from symmetric in Gen.Bool
        from data in Gen.Float[-1000f, 1000f].Array[0, 300]
        select (lo, hi, bits, signed, symmetric, data);

    [Fact]
    public void Dequantized_values_inside_the_range_are_within_half_a_step()
    {
        Cases.Sample(c =>
        {
            var scheme = new QuantScheme(c.Bits, c.Signed, c.Symmetric);
            var p = QuantParams.FromRange(scheme, c.Min, c.Max);
            var q = new int[c.Data.Length];
            var fake = new float[c.Data.Length];
            QuantOps.FakeQuantize(c.Data, fake, p);
            for (int i = 0; i < c.Data.Length; i++)
            {
                float x = c.Data[i];
                if (x < p.RepresentableMin || x > p.RepresentableMax) continue;
                float error = Math.Abs(fake[i] - x);
                float bound = p.Scale / 2 + 2e-6f * Math.Max(Math.Abs(x), p.Scale);
                if (error > bound) throw new InvalidOperationException($"x={x:R} y={fake[i]:R} error {error} > {bound} for {p}");
            }
        }, iter: 300);
    }

    [Fact]
    public void Fake_quantization_is_idempotent()
    {
        Cases.Sample(c =>
        {
            var p = QuantParams.FromRange(new QuantScheme(c.Bits, c.Signed, c.Symmetric), c.Min, c.Max);
            var once = new float[c.Data.Length];
            var twice = new float[c.Data.Length];
            QuantOps.FakeQuantize(c.Data, once, p);
            QuantOps.FakeQuantize(once, twice, p);
            return once.AsSpan().SequenceEqual(twice);
        }, iter: 300);
    }

    [Fact]
    public void Int4_pack_then_unpack_is_the_identity()
    {
        Gen.SByte[-8, 7].Array[0, 100].Sample(values =>
        {
            var packed = new byte[Int4Packing.PackedLength(values.Length)];
            Int4Packing.Pack(values, packed);
            var back = new sbyte[values.Length];
            Int4Packing.Unpack(packed, back, isSigned: true);
            return values.AsSpan().SequenceEqual(back);
        });
    }
}
