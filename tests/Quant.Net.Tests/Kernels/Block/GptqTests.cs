using FluentAssertions;
using Quant.Net.Kernels;

namespace Quant.Net.Tests.Kernels.Block;

/// <summary>GPTQ rounding against a direct implementation of its definition, and what it buys on a layer's outputs.</summary>
public sealed class GptqTests
{
    /// <summary>Correlated inputs X [m, k] (so the Hessian is far from diagonal, where GPTQ differs from rounding).</summary>
    internal static float[] Inputs(int m, int k, int seed)
    {
        var random = new Random(seed);
        var x = new float[m * k];
        for (int r = 0; r < m; r++)
        {
            double common = random.NextDouble() - 0.5;
            for (int c = 0; c < k; c++)
            {
                x[(r * k) + c] = (float)((0.7 * common * (1 + (c % 3))) + (0.5 * (random.NextDouble() - 0.5)));
            }
        }

        return x;
    }

    internal static double[] Hessian(float[] x, int m, int k)
    {
        var h = new double[k * k];
        for (int r = 0; r < m; r++)
        {
            for (int i = 0; i < k; i++)
            {
                for (int j = 0; j < k; j++)
                {
                    h[(i * k) + j] += (double)x[(r * k) + i] * x[(r * k) + j];
                }
            }
        }

        return h;
    }

    /// <summary>
    /// GPTQ as the OBQ update it derives from: round column j, move its error onto the remaining columns F by
    /// −err / [H_F⁻¹]_jj · [H_F⁻¹]_j,F, then drop j from F by Gaussian elimination of H_F⁻¹ — no Cholesky factor.
    /// </summary>
    private static (int[] Codes, float[] Scales) Direct(float[] w, int n, int k, double[] hessian, int bits, int blockSize, double damping)
    {
        var h = (double[])hessian.Clone();
        var weights = w.Select(v => (double)v).ToArray();
        double mean = Enumerable.Range(0, k).Average(i => h[(i * k) + i]);
        for (int i = 0; i < k; i++)
        {
            h[(i * k) + i] += damping * mean;
        }

        var inverse = Invert(h, k);
        int middle = 1 << (bits - 1), qMax = (1 << bits) - 1;
        var codes = new int[n * k];
        var scales = new float[n * ((k + blockSize - 1) / blockSize)];
        for (int j = 0; j < k; j++)
        {
            int b = j / blockSize;
            if (j % blockSize == 0)
            {
                for (int row = 0; row < n; row++)
                {
                    double max = 0;
                    for (int i = j; i < Math.Min(k, j + blockSize); i++)
                    {
                        max = Math.Max(max, Math.Abs((float)weights[(row * k) + i]));
                    }

                    scales[(row * scales.Length / n) + b] = (float)Math.Max(max / (middle - 1), QuantParams.MinScale);
                }
            }

            double pivot = inverse[(j * k) + j];
            for (int row = 0; row < n; row++)
            {
                float scale = scales[(row * scales.Length / n) + b];
                double value = weights[(row * k) + j];
                int code = (int)Math.Clamp(Math.Round((float)value / scale, MidpointRounding.ToEven) + middle, 0, qMax);
                codes[(row * k) + j] = code;
                double error = (value - ((code - middle) * (double)scale)) / pivot;
                for (int c = j + 1; c < k; c++)
                {
                    weights[(row * k) + c] -= error * inverse[(j * k) + c];
                }
            }

            // Eliminate j: H_F⁻¹ ← H_F⁻¹ − H⁻¹[:, j]·H⁻¹[j, :] / H⁻¹[j, j].
            var column = Enumerable.Range(0, k).Select(i => inverse[(i * k) + j]).ToArray();
            for (int r = 0; r < k; r++)
            {
                for (int c = 0; c < k; c++)
                {
                    inverse[(r * k) + c] -= column[r] * column[c] / pivot;
                }
            }
        }

        return (codes, scales);
    }

    private static double[] Invert(double[] a, int k)
    {
        var m = (double[])a.Clone();
        var inv = new double[k * k];
        for (int i = 0; i < k; i++)
        {
            inv[(i * k) + i] = 1;
        }

        for (int p = 0; p < k; p++)
        {
            double d = m[(p * k) + p];
            for (int c = 0; c < k; c++)
            {
                m[(p * k) + c] /= d;
                inv[(p * k) + c] /= d;
            }

            for (int r = 0; r < k; r++)
            {
                if (r != p)
                {
                    double f = m[(r * k) + p];
                    for (int c = 0; c < k; c++)
                    {
                        m[(r * k) + c] -= f * m[(p * k) + c];
                        inv[(r * k) + c] -= f * inv[(p * k) + c];
                    }
                }
            }
        }

        return inv;
    }

    [Theory]
    [InlineData(4, 16, 48)]
    [InlineData(4, 32, 48)]
    [InlineData(8, 16, 48)]
    [InlineData(4, 32, 300)] // three lazy batches of 128 columns, the last one ragged
    [InlineData(4, 256, 520)] // batches of a whole 256-block
    public void Gptq_codes_and_scales_equal_a_direct_implementation_of_its_definition(int bits, int blockSize, int k)
    {
        const int n = 6, m = 96;
        var random = new Random(bits + blockSize);
        var w = Enumerable.Range(0, n * k).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var h = Hessian(Inputs(m, k, 3), m, k);
        var options = new BlockQuantizationOptions { Bits = bits, BlockSize = blockSize };
        var q = BlockQuantizedWeights.QuantizeGptq(w, k, n, WeightLayout.NByK, h, options);
        var (codes, scales) = Direct(w, n, k, h, bits, blockSize, 0.01);
        int blocks = (k + blockSize - 1) / blockSize;
        for (int row = 0; row < n; row++)
        {
            for (int b = 0; b < blocks; b++)
            {
                q.GetScale(row, b).Should().BeApproximately(scales[(row * blocks) + b], 1e-6f * Math.Max(1, scales[(row * blocks) + b]));
            }

            for (int i = 0; i < k; i++)
            {
                q.GetCode(row, i).Should().Be(codes[(row * k) + i], $"row {row}, input {i}");
            }
        }
    }

    [Fact]
    public void Gptq_reproduces_the_layers_outputs_better_than_rounding_to_nearest()
    {
        const int n = 16, k = 64, m = 256;
        var random = new Random(5);
        var w = Enumerable.Range(0, n * k).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var x = Inputs(m, k, 7);
        var h = Hessian(x, m, k);
        double OutputError(BlockQuantizedWeights q)
        {
            var d = q.Dequantize();
            double e = 0;
            for (int r = 0; r < m; r++)
            {
                for (int o = 0; o < n; o++)
                {
                    double y = 0, yq = 0;
                    for (int i = 0; i < k; i++)
                    {
                        y += x[(r * k) + i] * (double)w[(o * k) + i];
                        yq += x[(r * k) + i] * (double)d[(o * k) + i];
                    }

                    e += (y - yq) * (y - yq);
                }
            }

            return e;
        }

        var options = new BlockQuantizationOptions { Bits = 4, BlockSize = 32 };
        double rtn = OutputError(BlockQuantizedWeights.Quantize(w, k, n, WeightLayout.NByK, options));
        double gptq = OutputError(BlockQuantizedWeights.QuantizeGptq(w, k, n, WeightLayout.NByK, h, options));
        gptq.Should().BeLessThan(rtn * 0.7, $"error feedback through the Hessian (RTN {rtn:F3}, GPTQ {gptq:F3})");
    }

    [Fact]
    public void Bad_hessians_and_damping_are_refused_with_the_parameter_named()
    {
        var w = new float[4 * 8];
        FluentActions.Invoking(() => BlockQuantizedWeights.QuantizeGptq(w, 8, 4, WeightLayout.NByK, new double[63], new BlockQuantizationOptions { BlockSize = 16 }))
            .Should().Throw<ArgumentException>().WithParameterName("hessian");
        var nan = new double[64];
        nan[5] = double.NaN;
        FluentActions.Invoking(() => BlockQuantizedWeights.QuantizeGptq(w, 8, 4, WeightLayout.NByK, nan, new BlockQuantizationOptions { BlockSize = 16 }))
            .Should().Throw<ArgumentException>().WithParameterName("hessian");
        FluentActions.Invoking(() => BlockQuantizedWeights.QuantizeGptq(w, 8, 4, WeightLayout.NByK, new double[64], new BlockQuantizationOptions { BlockSize = 16 }, damping: 0))
            .Should().Throw<ArgumentException>().WithParameterName("damping");

        // An all-zero Hessian (inputs never active): every weight rounds to zero, exactly.
        var q = BlockQuantizedWeights.QuantizeGptq([.. Enumerable.Range(0, 32).Select(i => i / 10f)], 8, 4, WeightLayout.NByK, new double[64], new BlockQuantizationOptions { BlockSize = 16 });
        q.Dequantize().Should().OnlyContain(v => v == 0);
    }
}
