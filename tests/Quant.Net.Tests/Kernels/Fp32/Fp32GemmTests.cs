using Quant.Net.Simd;
using FluentAssertions;
using Quant.Net.Kernels;

namespace Quant.Net.Tests.Kernels;

[Trait("Category", "Kernel")]
public sealed class Fp32GemmTests
{
    public static TheoryData<int> Levels => TestData.VectorLevels();

    private static readonly int[] Sizes = [1, 2, 3, 5, 6, 7, 8, 13, 16, 17, 31, 32, 33, 67];

    [Theory]
    [MemberData(nameof(Levels))]
    public void Every_width_gives_the_scalar_paths_bits_and_stays_within_the_error_bound(int levelValue)
    {
        var level = (SimdLevel)levelValue;
        var random = new Random(levelValue + 11);
        for (int trial = 0; trial < 40; trial++)
        {
            int m = Sizes[random.Next(Sizes.Length)], n = Sizes[random.Next(Sizes.Length)], k = Sizes[random.Next(Sizes.Length)];
            var layout = random.Next(2) == 0 ? WeightLayout.KByN : WeightLayout.NByK;
            float[] a = TestData.Floats(m * k, random.Next(), spread: 2f, withSpecials: false);
            float[] b = TestData.Floats(k * n, random.Next(), spread: 2f, withSpecials: false);
            float[] bias = trial % 2 == 0 ? [] : TestData.Floats(n, random.Next(), spread: 1f, withSpecials: false);
            var clamp = trial % 3 == 0 ? OutputClamp.Relu : OutputClamp.None;

            var expected = new float[m * n];
            Fp32Gemm.Run(a, m, PackedFloatWeights.Pack(SimdLevel.Scalar, b, k, n, layout), bias, expected, clamp);
            var actual = new float[m * n];
            Fp32Gemm.Run(a, m, PackedFloatWeights.Pack(level, b, k, n, layout), bias, actual, clamp);
            TestData.BitwiseEqual(expected, actual);

            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double exact = bias.Length == 0 ? 0 : bias[j], magnitude = Math.Abs(exact);
                    for (int t = 0; t < k; t++)
                    {
                        double bv = layout == WeightLayout.KByN ? b[t * n + j] : b[j * k + t];
                        exact += (double)a[i * k + t] * bv;
                        magnitude += Math.Abs((double)a[i * k + t] * bv);
                    }
                    if (clamp == OutputClamp.Relu) exact = Math.Max(exact, 0);
                    // FMA accumulation: at most (K + 1) roundings of relative size 2^-24 on partial sums bounded by Σ|ab|.
                    double bound = (k + 2) * Math.ScaleB(1, -24) * magnitude + 1e-30;
                    Math.Abs(actual[i * n + j] - exact).Should().BeLessThanOrEqualTo(bound, $"[{i},{j}] M={m} N={n} K={k}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void The_gemv_kernel_for_one_or_two_rows_gives_the_same_bits(int levelValue)
    {
        var level = (SimdLevel)levelValue;
        foreach (int m in new[] { 1, 2, 3 })
        {
            foreach (int n in new[] { 128, 131, 300, 520 })
            {
                int k = 37;
                float[] a = TestData.Floats(m * k, m + n, spread: 2f, withSpecials: false);
                float[] b = TestData.Floats(k * n, n, spread: 2f, withSpecials: false);
                float[] bias = TestData.Floats(n, 3, spread: 1f, withSpecials: false);
                var expected = new float[m * n];
                var actual = new float[m * n];
                Fp32Gemm.Run(a, m, PackedFloatWeights.Pack(SimdLevel.Scalar, b, k, n, WeightLayout.NByK), bias, expected, OutputClamp.Relu6);
                Fp32Gemm.Run(a, m, PackedFloatWeights.Pack(level, b, k, n, WeightLayout.NByK), bias, actual, OutputClamp.Relu6);
                TestData.BitwiseEqual(expected, actual);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void NaN_propagates_and_relu_keeps_signed_zero_like_the_scalar_path(int levelValue)
    {
        var level = (SimdLevel)levelValue;
        int m = 7, n = 40, k = 3;
        float[] a = TestData.Floats(m * k, 8, spread: 1f, withSpecials: false);
        a[4] = float.NaN;
        float[] b = new float[k * n]; // zeros: every product is ±0, so outputs are ±0 or NaN
        b[5] = -0f;
        float[] bias = Enumerable.Repeat(-0f, n).ToArray();
        var expected = new float[m * n];
        var actual = new float[m * n];
        Fp32Gemm.Run(a, m, PackedFloatWeights.Pack(SimdLevel.Scalar, b, k, n, WeightLayout.KByN), bias, expected, OutputClamp.Relu);
        Fp32Gemm.Run(a, m, PackedFloatWeights.Pack(level, b, k, n, WeightLayout.KByN), bias, actual, OutputClamp.Relu);
        TestData.BitwiseEqual(expected, actual);
        actual.Should().Contain(float.NaN);
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        int m = 40, n = 333, k = 301;
        float[] a = TestData.Floats(m * k, 31, spread: 1f, withSpecials: false);
        float[] b = TestData.Floats(k * n, 32, spread: 1f, withSpecials: false);
        var packed = PackedFloatWeights.Pack(b, k, n, WeightLayout.KByN);
        var one = new float[m * n];
        var two = new float[m * n];
        Fp32Gemm.Multiply(a, m, packed, [], one, OutputClamp.None, 1);
        Fp32Gemm.Multiply(a, m, packed, [], two, OutputClamp.None, 2);
        TestData.BitwiseEqual(one, two);
        var gemv1 = new float[n];
        var gemv2 = new float[n];
        Fp32Gemm.Multiply(a.AsSpan(0, k), 1, packed, [], gemv1, OutputClamp.None, 1);
        Fp32Gemm.Multiply(a.AsSpan(0, k), 1, packed, [], gemv2, OutputClamp.None, -1);
        TestData.BitwiseEqual(gemv1, gemv2);
        TestData.BitwiseEqual(one.AsSpan(0, n), gemv1);
    }

    [Fact]
    public void Bad_arguments_are_rejected()
    {
        var act = () => PackedFloatWeights.Pack(new float[5], 2, 3, WeightLayout.KByN);
        act.Should().Throw<ArgumentException>().WithParameterName("weights");
        var packed = PackedFloatWeights.Pack(new float[6], 2, 3, WeightLayout.KByN);
        var act2 = () => Fp32Gemm.Multiply(new float[3], 2, packed, [], new float[6], OutputClamp.None, 1);
        act2.Should().Throw<ArgumentException>().WithParameterName("a");
        var act3 = () => Fp32Gemm.Multiply(new float[4], 2, packed, [1f], new float[6], OutputClamp.None, 1);
        act3.Should().Throw<ArgumentException>().WithParameterName("bias");
        var act4 = () => Fp32Gemm.Multiply(new float[4], 2, packed, [], new float[5], OutputClamp.None, 1);
        act4.Should().Throw<ArgumentException>().WithParameterName("c");
    }
}
