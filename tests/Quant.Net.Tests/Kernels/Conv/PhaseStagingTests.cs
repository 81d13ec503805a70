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
    public void Channels_are_interleaved_into_cells_for_every_length_step_and_width()
    {
        foreach (int kr in new[] { 1, 2, 4 })
        {
            for (int real = 1; real <= kr; real++)
            {
                foreach (int step in new[] { 1, 2, 3 })
                {
                    for (int count = 0; count <= 257; count++)
                    foreach (int slack in new[] { 0, 40 })
                    {
                        // Planes 300 bytes apart (more than a row needs), the source ending where the last real channel's row
                        // does (vector blocks stop short of it) or 40 bytes later (the last cells as an overlapping block).
                        int planeStride = 300 + step;
                        int length = count == 0 ? slack : ((real - 1) * planeStride) + (step * (count - 1)) + 1 + slack;
                        byte[] source = TestData.Codes<byte>(length, (97 * count) + (7 * step) + real + kr);
                        byte flip = (byte)(count % 2 == 0 ? 0x80 : 0x00);
                        var target = new byte[(kr * count) + 1];
                        target[kr * count] = 0x5A;
                        PhaseStaging.Interleave(source, planeStride, real, kr, step, flip, target.AsSpan(0, kr * count));
                        for (int i = 0; i < count; i++)
                        {
                            for (int j = 0; j < kr; j++)
                            {
                                int expected = (j < real ? source[(j * planeStride) + (step * i)] : 0) ^ flip;
                                target[(kr * i) + j].Should().Be((byte)expected, $"kr {kr}, real {real}, step {step}, count {count}, slack {slack}, cell {i}, channel {j}");
                            }
                        }

                        target[kr * count].Should().Be(0x5A);
                    }
                }
            }
        }
    }

    [Fact]
    public void A_source_too_short_for_the_copy_is_rejected()
    {
        var act3 = () => PhaseStaging.Interleave(new byte[310], 300, 2, 4, 2, 0x80, new byte[4 * 6]);
        act3.Should().Throw<ArgumentException>().WithParameterName("source");
        var act4 = () => PhaseStaging.Interleave(new byte[1000], 300, 3, 2, 1, 0x80, new byte[4]);
        act4.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("real");
        var act = () => PhaseStaging.CopyEveryOther(new float[4], new float[3]);
        act.Should().Throw<ArgumentException>().WithParameterName("source");
        var act2 = () => PhaseStaging.Centre(new byte[6], 2, 0, new float[4]);
        act2.Should().Throw<ArgumentException>().WithParameterName("source");
    }
}
