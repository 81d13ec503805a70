using FluentAssertions;
using Quant.Net.Kernels;

namespace Quant.Net.Tests.Kernels.Block;

/// <summary>Block ranges searched on the layer's output error (SeqMSE): what it reduces to, and what it buys.</summary>
public sealed class SeqMseTests
{
    private static float[] Weights(int n, int k, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, n * k).Select(_ => (float)((random.NextDouble() - 0.5) * (1 + (3 * random.NextDouble() * random.NextDouble()))))];
    }

    /// <summary>Σ over rows of (w − ŵ)ᵀ·H·(w − ŵ): the layer's output error on the data H came from.</summary>
    private static double OutputError(float[] w, BlockQuantizedWeights q, double[] h)
    {
        var d = q.Dequantize();
        int n = q.N, k = q.K;
        double total = 0;
        for (int o = 0; o < n; o++)
        {
            for (int i = 0; i < k; i++)
            {
                double ei = w[(o * k) + i] - (double)d[(o * k) + i];
                for (int j = 0; j < k; j++)
                {
                    total += ei * h[(i * k) + j] * (w[(o * k) + j] - (double)d[(o * k) + j]);
                }
            }
        }

        return total;
    }

    [Theory]
    [InlineData(4, 32, 96)]
    [InlineData(4, 16, 70)]
    [InlineData(8, 32, 64)]
    public void With_a_multiple_of_the_identity_it_is_the_weight_mse_search(int bits, int blockSize, int k)
    {
        const int n = 11;
        var w = Weights(n, k, bits + k);
        var h = new double[k * k];
        for (int i = 0; i < k; i++)
        {
            h[(i * k) + i] = 3.5;
        }

        var options = new BlockQuantizationOptions { Bits = bits, BlockSize = blockSize };
        var seq = BlockQuantizedWeights.QuantizeSeqMse(w, k, n, WeightLayout.NByK, h, options);
        var mse = BlockQuantizedWeights.Quantize(w, k, n, WeightLayout.NByK, options with { Rounding = BlockRounding.MseSearch });
        seq.Dequantize().Should().Equal(mse.Dequantize());
    }

    [Fact]
    public void With_independent_inputs_no_block_has_a_larger_output_error_than_the_weight_mse_search()
    {
        // A diagonal H (independent inputs of very different sizes): the output error is a sum over blocks, and the
        // search minimises each block's term over the same grid the weight search uses.
        const int n = 9, k = 64, blockSize = 16;
        var w = Weights(n, k, 3);
        var random = new Random(4);
        var h = new double[k * k];
        for (int i = 0; i < k; i++)
        {
            h[(i * k) + i] = i % 5 == 0 ? 100 * random.NextDouble() : random.NextDouble();
        }

        var options = new BlockQuantizationOptions { BlockSize = blockSize };
        var seq = BlockQuantizedWeights.QuantizeSeqMse(w, k, n, WeightLayout.NByK, h, options).Dequantize();
        var mse = BlockQuantizedWeights.Quantize(w, k, n, WeightLayout.NByK, options with { Rounding = BlockRounding.MseSearch }).Dequantize();
        double seqTotal = 0, mseTotal = 0;
        for (int o = 0; o < n; o++)
        {
            for (int b = 0; b < k / blockSize; b++)
            {
                double es = 0, em = 0;
                for (int i = b * blockSize; i < (b + 1) * blockSize; i++)
                {
                    double ds = w[(o * k) + i] - (double)seq[(o * k) + i], dm = w[(o * k) + i] - (double)mse[(o * k) + i];
                    es += h[(i * k) + i] * ds * ds;
                    em += h[(i * k) + i] * dm * dm;
                }

                es.Should().BeLessThanOrEqualTo(em * (1 + 1e-9), $"row {o}, block {b}");
                seqTotal += es;
                mseTotal += em;
            }
        }

        seqTotal.Should().BeLessThan(mseTotal * 0.95, $"inputs of unequal size change the best ranges (SeqMSE {seqTotal:F4}, MSE {mseTotal:F4})");
    }

    [Fact]
    public void On_correlated_inputs_with_outlier_features_it_reproduces_the_outputs_better_than_the_weight_search()
    {
        const int n = 16, k = 128, m = 512;
        var w = Weights(n, k, 8);
        var x = GptqTests.Inputs(m, k, 9);
        for (int r = 0; r < m; r++)
        {
            for (int c = 0; c < k; c += 13)
            {
                x[(r * k) + c] *= 20;
            }
        }

        var h = GptqTests.Hessian(x, m, k);
        var options = new BlockQuantizationOptions { Bits = 4, BlockSize = 32 };
        double rtn = OutputError(w, BlockQuantizedWeights.Quantize(w, k, n, WeightLayout.NByK, options), h);
        double mse = OutputError(w, BlockQuantizedWeights.Quantize(w, k, n, WeightLayout.NByK, options with { Rounding = BlockRounding.MseSearch }), h);
        double seq = OutputError(w, BlockQuantizedWeights.QuantizeSeqMse(w, k, n, WeightLayout.NByK, h, options), h);
        seq.Should().BeLessThan(mse * 0.9, $"RTN {rtn:F2}, MSE {mse:F2}, SeqMSE {seq:F2}");
        seq.Should().BeLessThan(rtn);
    }

    [Fact]
    public void The_kxn_layout_gives_the_same_weights_as_nxk()
    {
        const int n = 5, k = 40;
        var w = Weights(n, k, 12);
        var transposed = new float[k * n];
        for (int o = 0; o < n; o++)
        {
            for (int i = 0; i < k; i++)
            {
                transposed[(i * n) + o] = w[(o * k) + i];
            }
        }

        var h = GptqTests.Hessian(GptqTests.Inputs(64, k, 13), 64, k);
        var options = new BlockQuantizationOptions { BlockSize = 16 };
        BlockQuantizedWeights.QuantizeSeqMse(transposed, k, n, WeightLayout.KByN, h, options).Dequantize()
            .Should().Equal(BlockQuantizedWeights.QuantizeSeqMse(w, k, n, WeightLayout.NByK, h, options).Dequantize());
    }

    [Fact]
    public void Bad_hessians_and_weights_are_refused_with_the_parameter_named()
    {
        var w = new float[4 * 8];
        FluentActions.Invoking(() => BlockQuantizedWeights.QuantizeSeqMse(w, 8, 4, WeightLayout.NByK, new double[63], new BlockQuantizationOptions { BlockSize = 16 }))
            .Should().Throw<ArgumentException>().WithParameterName("hessian");
        var nan = new double[64];
        nan[9] = double.PositiveInfinity;
        FluentActions.Invoking(() => BlockQuantizedWeights.QuantizeSeqMse(w, 8, 4, WeightLayout.NByK, nan, new BlockQuantizationOptions { BlockSize = 16 }))
            .Should().Throw<ArgumentException>().WithParameterName("hessian");
        w[3] = float.NaN;
        FluentActions.Invoking(() => BlockQuantizedWeights.QuantizeSeqMse(w, 8, 4, WeightLayout.NByK, new double[64], new BlockQuantizationOptions { BlockSize = 16 }))
            .Should().Throw<ArgumentException>().WithParameterName("weights");
    }
}
