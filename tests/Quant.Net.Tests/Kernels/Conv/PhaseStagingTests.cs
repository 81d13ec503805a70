using FluentAssertions;
using Quant.Net.Kernels;

namespace Quant.Net.Tests.Kernels;

/// <summary>
/// The staging copies of the phase-plane convolutions against plain loops, for every output length 0..257 and a source
/// exactly as long as the copy needs (so a vector load past its end would throw or read the sentinel beyond it).
/// </summary>
[Trait("Category", "Kernel")]
public sealed class PhaseStagingTests
{
    [Fact]
    public void Every_other_float_is_copied_for_every_length()
    {
        for (int count = 0; count <= 257; count++)
        {
            float[] source = TestData.Floats(Math.Max(0, (2 * count) - 1), count, spread: 10f, withSpecials: true);
            var target = new float[count + 1];
            target[count] = 12345f;   // sentinel past the copy
            PhaseStaging.CopyEveryOther(source, target.AsSpan(0, count));
            for (int i = 0; i < count; i++) BitConverter.SingleToInt32Bits(target[i]).Should().Be(BitConverter.SingleToInt32Bits(source[2 * i]), $"count {count}, element {i}");
            target[count].Should().Be(12345f);
        }
    }

    [Fact]
    public void Codes_are_centred_exactly_for_every_length_and_step()
    {
        foreach (int step in new[] { 1, 2, 3 })
        {
            for (int count = 0; count <= 257; count++)
            {
                byte[] source = TestData.Codes<byte>(count == 0 ? 0 : (step * (count - 1)) + 1, (31 * count) + step);
                int zeroPoint = (count * 7) % 256;
                var target = new float[count + 1];
                target[count] = 12345f;
                PhaseStaging.Centre(source, step, zeroPoint, target.AsSpan(0, count));
                for (int i = 0; i < count; i++) target[i].Should().Be(source[step * i] - zeroPoint, $"step {step}, count {count}, element {i}");
                target[count].Should().Be(12345f);
            }
        }
    }

    [Fact]
    public void A_source_too_short_for_the_copy_is_rejected()
    {
        var act = () => PhaseStaging.CopyEveryOther(new float[4], new float[3]);
        act.Should().Throw<ArgumentException>().WithParameterName("source");
        var act2 = () => PhaseStaging.Centre(new byte[6], 2, 0, new float[4]);
        act2.Should().Throw<ArgumentException>().WithParameterName("source");
    }
}
