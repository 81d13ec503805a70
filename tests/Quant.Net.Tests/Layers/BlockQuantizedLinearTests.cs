using FluentAssertions;
using Quant.Net.Kernels;
using Quant.Net.Layers;

namespace Quant.Net.Tests.Layers;

/// <summary>The int4 linear layer for app code: the block GEMM plus bias, and its packed weights saved and loaded.</summary>
public sealed class BlockQuantizedLinearTests
{
    private static float[] Random(int count, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() - 0.5) * 2 * scale))];
    }

    [Theory]
    [InlineData(BlockGemmMode.FloatActivations, 4, 33, 70, 1)]
    [InlineData(BlockGemmMode.Int8Activations, 4, 33, 70, 3)]
    [InlineData(BlockGemmMode.FloatActivations, 8, 17, 64, 2)]
    [InlineData(BlockGemmMode.Int8Activations, 8, 9, 129, 1)]
    public void Forward_is_the_block_gemm_plus_bias_and_survives_save_and_load_bit_for_bit(BlockGemmMode mode, int bits, int outFeatures, int inFeatures, int batch)
    {
        var w = Random(outFeatures * inFeatures, 1, 0.3f);
        var bias = Random(outFeatures, 2);
        var x = Random(batch * inFeatures, 3);
        var options = new BlockQuantizationOptions { Bits = bits, BlockSize = 32, Rounding = BlockRounding.MseSearch };
        var layer = BlockQuantizedLinear.FromFloat(w, inFeatures, outFeatures, bias, options, mode);
        layer.WeightBytes.Should().Be(layer.Weights.StorageBytes);

        var y = new float[batch * outFeatures];
        layer.Forward(x, y, maxDegreeOfParallelism: -1);
        var expected = new float[batch * outFeatures];
        BlockGemm.Multiply(x, batch, BlockQuantizedWeights.Quantize(w, inFeatures, outFeatures, WeightLayout.NByK, options), bias, expected, mode);
        y.Should().Equal(expected);

        // Close to FP32 (the weights are what differs).
        var dense = new float[batch * outFeatures];
        for (int r = 0; r < batch; r++)
        {
            for (int o = 0; o < outFeatures; o++)
            {
                double acc = bias[o];
                for (int i = 0; i < inFeatures; i++)
                {
                    acc += x[(r * inFeatures) + i] * (double)w[(o * inFeatures) + i];
                }

                dense[(r * outFeatures) + o] = (float)acc;
            }
        }

        double signal = dense.Sum(v => (double)v * v), noise = dense.Zip(y).Sum(p => (double)(p.First - p.Second) * (p.First - p.Second));
        (10 * Math.Log10(signal / noise)).Should().BeGreaterThan(bits == 4 ? 15 : 35);

        using var stream = new MemoryStream();
        layer.Save(stream);
        stream.Position = 0;
        var loaded = BlockQuantizedLinear.Load(stream);
        stream.Position.Should().Be(stream.Length, "the layer reads exactly what it wrote");
        (loaded.Mode, loaded.InFeatures, loaded.OutFeatures).Should().Be((mode, inFeatures, outFeatures));
        var again = new float[y.Length];
        loaded.Forward(x, again);
        again.Should().Equal(y, "loaded weights are the same codes, scales and zero points");
    }

    [Fact]
    public void Damaged_streams_and_bad_shapes_are_refused_with_what_is_wrong()
    {
        var layer = BlockQuantizedLinear.FromFloat(Random(8 * 32, 4), 32, 8, []);
        using var stream = new MemoryStream();
        layer.Save(stream);
        var bytes = stream.ToArray();

        FluentActions.Invoking(() => BlockQuantizedLinear.Load(new MemoryStream(bytes[..(bytes.Length - 3)]))).Should().Throw<InvalidDataException>().WithMessage("*truncated*");
        var badMagic = (byte[])bytes.Clone();
        badMagic[0] ^= 0xFF;
        FluentActions.Invoking(() => BlockQuantizedLinear.Load(new MemoryStream(badMagic))).Should().Throw<InvalidDataException>().WithMessage("*magic*");
        var badVersion = (byte[])bytes.Clone();
        badVersion[4] = 9;
        FluentActions.Invoking(() => BlockQuantizedLinear.Load(new MemoryStream(badVersion))).Should().Throw<InvalidDataException>().WithMessage("*version 9*");
        FluentActions.Invoking(() => BlockQuantizedWeights.Load(new MemoryStream(bytes))).Should().Throw<InvalidDataException>().WithMessage("*magic*", "a layer is not bare weights");

        FluentActions.Invoking(() => layer.Forward(new float[33], new float[8])).Should().Throw<ArgumentException>().WithParameterName("input");
        FluentActions.Invoking(() => layer.Forward(new float[64], new float[8])).Should().Throw<ArgumentException>().WithParameterName("output");
        FluentActions.Invoking(() => new BlockQuantizedLinear(layer.Weights, new float[3])).Should().Throw<ArgumentException>().WithParameterName("bias");
    }
}
