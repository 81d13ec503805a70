using Quant.Net.Simd;
using FluentAssertions;
using Quant.Net.Kernels;

namespace Quant.Net.Tests.Kernels;

[Trait("Category", "Kernel")]
public sealed class BlockGemmTests
{
    public static TheoryData<int> Paths()
    {
        var data = new TheoryData<int>();
        foreach (var path in IsaConfig.BlockGemmPaths)
        {
            data.Add((int)path);
        }

        return data;
    }

    private static readonly int[] BlockSizes = [16, 32, 64, 128, 256];

    private static float[] Gaussian(int count, Random random, float scale = 1f) =>
        [.. Enumerable.Range(0, count).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())) * scale)];

    private static BlockQuantizedWeights RandomWeights(Random random, int n, int k, int bits, int blockSize, bool symmetric, bool half = false)
    {
        var w = Gaussian(n * k, random, 0.05f);
        if (random.Next(4) == 0)
        {
            w[random.Next(w.Length)] = 3f; // an outlier block
        }

        return BlockQuantizedWeights.Quantize(w, k, n, WeightLayout.NByK, new BlockQuantizationOptions
        {
            Bits = bits, BlockSize = blockSize, Symmetric = symmetric, ScaleType = half ? BlockScaleType.Fp16 : BlockScaleType.Fp32,
        });
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Integer_mode_matches_the_scalar_reference_bit_for_bit_on_every_path(int pathValue)
    {
        var path = (BlockGemmPath)pathValue;
        var random = new Random(100 + pathValue);
        int[] ks = [1, 7, 16, 33, 100, 257];
        int[] ns = [1, 7, 8, 9, 33];
        int[] ms = [1, 2, 3, 8, 11];
        for (int trial = 0; trial < 40; trial++)
        {
            int m = ms[random.Next(ms.Length)], n = ns[random.Next(ns.Length)], k = ks[random.Next(ks.Length)];
            int bits = random.Next(2) == 0 ? 4 : 8, blockSize = BlockSizes[random.Next(BlockSizes.Length)];
            var w = RandomWeights(random, n, k, bits, blockSize, symmetric: random.Next(2) == 0, half: random.Next(3) == 0);
            var x = Gaussian(m * k, random, 2f);
            if (trial % 7 == 0)
            {
                Array.Fill(x, 0f, 0, Math.Min(k, x.Length)); // an all-zero activation block
            }

            var expected = new float[m * n];
            var actual = new float[m * n];
            BlockGemm.Multiply(x, m, w, [], expected, BlockGemmMode.Int8Activations, 1, BlockGemmPath.Scalar, SimdLevel.Scalar);
            BlockGemm.Multiply(x, m, w, [], actual, BlockGemmMode.Int8Activations, 1, path, IsaConfig.Best.Elementwise);
            TestData.BitwiseEqual(expected, actual);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Integer_mode_is_exact_where_every_product_is_extreme(int pathValue)
    {
        // Constant weights give all-15 (or 8-bit: all-255) codes and constant activations all ±127 codes: the largest
        // sums any int16 accumulation (AVX2's vpmaddubsw runs) can meet, over every block size, both signs, one and two
        // groups, single rows and four-row passes. A run one step too long overflows and fails this.
        var path = (BlockGemmPath)pathValue;
        foreach (int bits in new[] { 4, 8 })
        {
            foreach (int blockSize in BlockSizes)
            {
                foreach (float sign in new[] { 1f, -1f })
                {
                    int k = (2 * blockSize) + 16, n = 24, m = 5;
                    var weights = new float[n * k];
                    Array.Fill(weights, 0.5f);
                    var w = BlockQuantizedWeights.Quantize(weights, k, n, WeightLayout.NByK, new BlockQuantizationOptions { Bits = bits, BlockSize = blockSize, Symmetric = true });
                    var x = new float[m * k];
                    Array.Fill(x, 3f * sign);
                    var expected = new float[m * n];
                    var actual = new float[m * n];
                    BlockGemm.Multiply(x, m, w, [], expected, BlockGemmMode.Int8Activations, 1, BlockGemmPath.Scalar, SimdLevel.Scalar);
                    BlockGemm.Multiply(x, m, w, [], actual, BlockGemmMode.Int8Activations, 1, path, IsaConfig.Best.Elementwise);
                    TestData.BitwiseEqual(expected, actual);
                    actual[0].Should().BeApproximately(0.5f * 3f * sign * k, 0.01f * k, "the dot of constant rows");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestData.VectorLevels), MemberType = typeof(TestData))]
    public void Float_mode_matches_the_scalar_reference_bit_for_bit_at_every_vector_width(int levelValue)
    {
        var level = (SimdLevel)levelValue;
        var random = new Random(7 + levelValue);
        for (int trial = 0; trial < 30; trial++)
        {
            int m = 1 + random.Next(9), n = 1 + random.Next(40), k = 1 + random.Next(300);
            var w = RandomWeights(random, n, k, random.Next(2) == 0 ? 4 : 8, BlockSizes[random.Next(BlockSizes.Length)], random.Next(2) == 0);
            var x = Gaussian(m * k, random);
            var expected = new float[m * n];
            var actual = new float[m * n];
            BlockGemm.Multiply(x, m, w, [], expected, BlockGemmMode.FloatActivations, 1, BlockGemmPath.Scalar, SimdLevel.Scalar);
            BlockGemm.Multiply(x, m, w, [], actual, BlockGemmMode.FloatActivations, 1, IsaConfig.Best.BlockGemm, level);
            TestData.BitwiseEqual(expected, actual);
        }
    }

    [Theory]
    [InlineData(BlockGemmMode.FloatActivations, 1e-5)]
    [InlineData(BlockGemmMode.Int8Activations, 2e-2)]
    public void Both_modes_agree_with_a_double_precision_product_of_the_dequantized_weights(BlockGemmMode mode, double relativeTolerance)
    {
        var random = new Random(3);
        int m = 4, n = 37, k = 300;
        var w = RandomWeights(random, n, k, 4, 32, symmetric: false);
        var x = Gaussian(m * k, random);
        var bias = Gaussian(n, random);
        var wd = w.Dequantize();
        var y = new float[m * n];
        BlockGemm.Multiply(x, m, w, bias, y, mode);
        for (int r = 0; r < m; r++)
        {
            double norm = 0;
            var expected = new double[n];
            for (int c = 0; c < n; c++)
            {
                double s = bias[c];
                for (int i = 0; i < k; i++)
                {
                    s += (double)x[(r * k) + i] * wd[(c * k) + i];
                }

                expected[c] = s;
                norm += s * s;
            }

            double tolerance = relativeTolerance * Math.Sqrt(norm / n);
            for (int c = 0; c < n; c++)
            {
                y[(r * n) + c].Should().BeApproximately((float)expected[c], (float)tolerance, $"row {r} column {c}");
            }
        }
    }

    [Fact]
    public void Threads_do_not_change_a_bit_and_nothing_is_allocated_per_call_beyond_pools()
    {
        var random = new Random(11);
        int m = 3, n = 300, k = 512;
        var w = RandomWeights(random, n, k, 4, 64, symmetric: true);
        var x = Gaussian(m * k, random);
        foreach (var mode in new[] { BlockGemmMode.FloatActivations, BlockGemmMode.Int8Activations })
        {
            var one = new float[m * n];
            var many = new float[m * n];
            BlockGemm.Multiply(x, m, w, [], one, mode, 1);
            BlockGemm.Multiply(x, m, w, [], many, mode, -1);
            TestData.BitwiseEqual(one, many);
        }
    }

    [Theory]
    [InlineData(4, true)]
    [InlineData(4, false)]
    [InlineData(8, true)]
    [InlineData(8, false)]
    public void Round_to_nearest_stays_within_half_a_step_and_k_need_not_fill_the_last_block(int bits, bool symmetric)
    {
        var random = new Random(bits);
        int n = 5, k = 75;
        var values = Gaussian(n * k, random);
        foreach (var layout in new[] { WeightLayout.NByK, WeightLayout.KByN })
        {
            var w = BlockQuantizedWeights.Quantize(values, k, n, layout, new BlockQuantizationOptions { Bits = bits, BlockSize = 32, Symmetric = symmetric });
            w.BlockCount.Should().Be(3);
            var restored = w.Dequantize();
            for (int row = 0; row < n; row++)
            {
                for (int i = 0; i < k; i++)
                {
                    float original = layout == WeightLayout.NByK ? values[(row * k) + i] : values[(i * n) + row];
                    float step = w.GetScale(row, i / 32);
                    Math.Abs(restored[(row * k) + i] - original).Should().BeLessThanOrEqualTo((step / 2) * 1.0001f + 1e-7f);
                    w.GetCode(row, i).Should().BeInRange(0, (1 << bits) - 1);
                }

                if (symmetric)
                {
                    w.GetZeroPoint(row, 0).Should().Be(1 << (bits - 1));
                }
            }
        }
    }

    [Fact]
    public void The_mse_block_search_is_never_worse_than_round_to_nearest_and_helps_heavy_tails()
    {
        var random = new Random(21);
        int n = 64, k = 512;
        var gaussian = Gaussian(n * k, random);
        var heavy = gaussian.Select(v => v * v * v).ToArray(); // heavier tails than Gaussian
        foreach (var (name, data) in new[] { ("gaussian", gaussian), ("heavy", heavy) })
        {
            foreach (bool symmetric in new[] { true, false })
            {
                double Sqnr(BlockRounding rounding)
                {
                    var w = BlockQuantizedWeights.Quantize(data, k, n, WeightLayout.NByK, new BlockQuantizationOptions { Symmetric = symmetric, Rounding = rounding });
                    return ErrorMetrics.SqnrDecibels(data, w.Dequantize());
                }

                double nearest = Sqnr(BlockRounding.Nearest), searched = Sqnr(BlockRounding.MseSearch);
                searched.Should().BeGreaterThanOrEqualTo(nearest, $"{name}, symmetric {symmetric}");
                if (name == "heavy")
                {
                    searched.Should().BeGreaterThan(nearest + 0.05, "clipping rare large weights pays off");
                }
            }
        }
    }

    [Fact]
    public void Bad_input_is_rejected_with_the_parameter_named()
    {
        float[] w = [1, 2, 3, 4];
        FluentActions.Invoking(() => BlockQuantizedWeights.Quantize(w, 2, 2, WeightLayout.NByK, new BlockQuantizationOptions { BlockSize = 24 }))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("BlockSize");
        FluentActions.Invoking(() => BlockQuantizedWeights.Quantize(w, 2, 2, WeightLayout.NByK, new BlockQuantizationOptions { Bits = 3 }))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("Bits");
        FluentActions.Invoking(() => BlockQuantizedWeights.Quantize([1, float.NaN, 3, 4], 2, 2, WeightLayout.NByK))
            .Should().Throw<ArgumentException>().WithMessage("Weight 1 is NaN*");
        FluentActions.Invoking(() => BlockQuantizedWeights.Quantize(w, 2, 3, WeightLayout.NByK)).Should().Throw<ArgumentException>().WithParameterName("weights");
        var q = BlockQuantizedWeights.Quantize(w, 2, 2, WeightLayout.NByK);
        FluentActions.Invoking(() => BlockGemm.Multiply(new float[3], 1, q, [], new float[2], BlockGemmMode.FloatActivations)).Should().Throw<ArgumentException>().WithParameterName("x");
        FluentActions.Invoking(() => BlockGemm.Multiply(new float[2], 1, q, [], new float[3], BlockGemmMode.FloatActivations)).Should().Throw<ArgumentException>().WithParameterName("y");
        FluentActions.Invoking(() => BlockGemm.Multiply(new float[2], 1, q, [1f], new float[2], BlockGemmMode.FloatActivations)).Should().Throw<ArgumentException>().WithParameterName("bias");
    }
}
