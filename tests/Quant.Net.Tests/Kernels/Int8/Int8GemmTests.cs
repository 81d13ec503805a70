using Quant.Net.Simd;
using FluentAssertions;
using Quant.Net.Kernels;

namespace Quant.Net.Tests.Kernels;

[Trait("Category", "Kernel")]
public sealed class Int8GemmTests
{
    public static TheoryData<int> Paths()
    {
        var data = new TheoryData<int>();
        foreach (var path in IsaConfig.Int8GemmPaths) data.Add((int)path);
        return data;
    }

    private static readonly int[] Sizes = [1, 2, 3, 4, 5, 7, 8, 13, 16, 17, 31, 33, 64, 67];

    [Theory]
    [MemberData(nameof(Paths))]
    public void Every_path_matches_the_reference_bit_for_bit_on_odd_shapes(int pathValue)
    {
        var path = (Int8GemmPath)pathValue;
        var random = new Random(pathValue * 1000 + 7);
        for (int trial = 0; trial < 60; trial++)
        {
            int m = Sizes[random.Next(Sizes.Length)], n = Sizes[random.Next(Sizes.Length)], k = Sizes[random.Next(Sizes.Length)] + random.Next(3);
            bool aSigned = random.Next(2) == 0, bUnsigned = random.Next(3) == 0;
            var layout = random.Next(2) == 0 ? WeightLayout.KByN : WeightLayout.NByK;
            Check(path, random, m, n, k, aSigned, bUnsigned, layout, extremes: trial % 5 == 0);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void The_largest_k_cannot_overflow(int pathValue)
    {
        var path = (Int8GemmPath)pathValue;
        int k = Int8Gemm.MaxK, m = 2, n = 3;
        // |A − zp| = 255 and |B − zp| = 255 everywhere: |C| = 255 · 255 · K, just below 2^31.
        var a = Enumerable.Repeat((byte)255, m * k).ToArray();
        var b = Enumerable.Repeat((sbyte)-128, k * n).ToArray();
        int[] bZp = [127, 127, 127];
        var packed = PackedInt8Weights.Pack(path, b, k, n, WeightLayout.KByN, bZp, [], flip: false);
        var c = new int[m * n];
        Int8Gemm.Run(false, a, m, 0, packed, c, default);
        c.Should().OnlyContain(v => v == -255L * 255 * k);
        c.Should().Equal(Int8GemmReference.Multiply(a, false, m, k, 0, b, n, bZp));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Float_output_applies_scales_bias_and_clamp(int pathValue)
    {
        var path = (Int8GemmPath)pathValue;
        var random = new Random(5);
        int m = 7, n = 19, k = 45;
        var a = TestData.Codes<byte>(m * k, 1);
        var b = TestData.Codes<sbyte>(k * n, 2);
        float[] scales = Enumerable.Range(0, n).Select(i => 0.001f * (i + 1)).ToArray();
        float[] bias = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        var packed = PackedInt8Weights.Pack(path, b, k, n, WeightLayout.KByN, [], scales, flip: false);
        int[] reference = Int8GemmReference.Multiply(a, false, m, k, 128, b, n, new int[n]);
        var c = new float[m * n];
        Int8Gemm.Run(false, a, m, 128, packed, default, new Int8Gemm.FloatStage(0.02f, packed, bias, OutputClamp.Relu6), c);
        for (int i = 0; i < c.Length; i++)
        {
            float expected = Math.Clamp(reference[i] * (0.02f * scales[i % n]) + bias[i % n], 0f, 6f);
            BitConverter.SingleToInt32Bits(c[i]).Should().Be(BitConverter.SingleToInt32Bits(expected), $"element {i}");
        }
    }

    [Fact]
    public void Public_entry_points_use_the_process_kernel_and_agree_with_the_reference()
    {
        int m = 9, n = 21, k = 70;
        var a = TestData.Codes<sbyte>(m * k, 3);
        var b = TestData.Codes<sbyte>(n * k, 4);
        var packed = PackedInt8Weights.Pack(b, k, n, WeightLayout.NByK, [3], [0.5f]);
        packed.Path.Should().Be(IsaConfig.Best.Int8Gemm);
        var c = new int[m * n];
        Int8Gemm.Multiply(a, m, -7, packed, c, maxDegreeOfParallelism: 1);
        var bKByN = new sbyte[k * n];
        for (int j = 0; j < n; j++) for (int t = 0; t < k; t++) bKByN[t * n + j] = b[j * k + t];
        c.Should().Equal(Int8GemmReference.Multiply(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()), true, m, k, -7, bKByN, n, Enumerable.Repeat(3, n).ToArray()));
        var empty = Array.Empty<int>();
        Int8Gemm.Multiply(ReadOnlySpan<sbyte>.Empty, 0, 0, packed, empty, -1); // M = 0 is a valid no-op
    }

    [Fact]
    public void Requantized_output_follows_qlinear_semantics()
    {
        int m = 11, n = 23, k = 50;
        var a = TestData.Codes<byte>(m * k, 41);
        var b = TestData.Codes<sbyte>(k * n, 42);
        var packed = PackedInt8Weights.Pack(b, k, n, WeightLayout.KByN, [], []);
        int[] bias = Enumerable.Range(0, n).Select(i => (i - 11) * 300).ToArray();
        float[] multipliers = Enumerable.Range(0, n).Select(i => 0.0005f * (i + 1)).ToArray();
        int[] acc = Int8GemmReference.Multiply(a, false, m, k, 120, b, n, new int[n]);
        for (int i = 0; i < acc.Length; i++) acc[i] += bias[i % n];

        var expected = new sbyte[m * n];
        QuantOps.Requantize(acc, expected, multipliers, -3);
        var actual = new sbyte[m * n];
        Int8Gemm.Multiply(a, m, 120, packed, bias, multipliers, -3, actual, 1);
        actual.Should().Equal(expected);

        var expectedU = new byte[m * n];
        QuantOps.Requantize(acc.Select((v, i) => v - bias[i % n]).ToArray(), expectedU, [0.01f], 128);
        var actualU = new byte[m * n];
        Int8Gemm.Multiply(a, m, 120, packed, [], [0.01f], 128, actualU, 2);
        actualU.Should().Equal(expectedU);

        var act = () => Int8Gemm.Multiply(a, m, 120, packed, [], [0.01f], 0, new short[m * n], 1);
        act.Should().Throw<NotSupportedException>();
        var act2 = () => Int8Gemm.Multiply(a, m, 120, packed, [], [0.01f, 0.02f], 0, new sbyte[m * n], 1);
        act2.Should().Throw<ArgumentException>().WithParameterName("multipliers");
    }

    [Fact]
    public void A_single_threaded_call_allocates_nothing_in_steady_state()
    {
        int m = 13, n = 40, k = 96;
        var a = TestData.Codes<byte>(m * k, 51);
        var packed = PackedInt8Weights.Pack(TestData.Codes<sbyte>(k * n, 52), k, n, WeightLayout.KByN, [], [0.1f]);
        var c = new int[m * n];
        var f = new float[m * n];
        var fp32 = PackedFloatWeights.Pack(TestData.Floats(k * n, 53, withSpecials: false), k, n, WeightLayout.KByN);
        var x = TestData.Floats(m * k, 54, withSpecials: false);
        for (int warm = 0; warm < 3; warm++)
        {
            Int8Gemm.Multiply(a, m, 7, packed, c, 1);
            Int8Gemm.Multiply(a, m, QuantParams.ForType<byte>(0.5f, 7), packed, [], f, OutputClamp.Relu, 1);
            Fp32Gemm.Multiply(x, m, fp32, [], f, OutputClamp.None, 1);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        Int8Gemm.Multiply(a, m, 7, packed, c, 1);
        Int8Gemm.Multiply(a, m, QuantParams.ForType<byte>(0.5f, 7), packed, [], f, OutputClamp.Relu, 1);
        Fp32Gemm.Multiply(x, m, fp32, [], f, OutputClamp.None, 1);
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().Be(0);
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        int m = 70, n = 300, k = 257; // ~5.4M multiply-adds: enough work for several threads
        var a = TestData.Codes<byte>(m * k, 21);
        var b = TestData.Codes<sbyte>(k * n, 22);
        var packed = PackedInt8Weights.Pack(b, k, n, WeightLayout.KByN, [5], [0.01f]);
        var one = new int[m * n];
        var two = new int[m * n];
        var all = new int[m * n];
        Int8Gemm.Multiply(a, m, 3, packed, one, 1);
        Int8Gemm.Multiply(a, m, 3, packed, two, 2);
        Int8Gemm.Multiply(a, m, 3, packed, all, -1);
        two.Should().Equal(one);
        all.Should().Equal(one);
        one.Should().Equal(Int8GemmReference.Multiply(a, false, m, k, 3, b, n, Enumerable.Repeat(5, n).ToArray()));
        var f1 = new float[m * n];
        var f2 = new float[m * n];
        Int8Gemm.Multiply(a, m, QuantParams.ForType<byte>(0.5f, 3), packed, [], f1, OutputClamp.None, 1);
        Int8Gemm.Multiply(a, m, QuantParams.ForType<byte>(0.5f, 3), packed, [], f2, OutputClamp.None, 2);
        TestData.BitwiseEqual(f1, f2);
    }

    [Fact]
    public void Bad_arguments_are_rejected_with_the_parameter_named()
    {
        var b = new sbyte[12];
        var act = () => PackedInt8Weights.Pack(b, Int8Gemm.MaxK + 1, 1, WeightLayout.KByN, [], []);
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("k");
        var act2 = () => PackedInt8Weights.Pack(b, 3, 5, WeightLayout.KByN, [], []);
        act2.Should().Throw<ArgumentException>().WithParameterName("weights");
        var act3 = () => PackedInt8Weights.Pack(b, 3, 4, WeightLayout.KByN, [1, 2], []);
        act3.Should().Throw<ArgumentException>().WithParameterName("zeroPoints");
        var act4 = () => PackedInt8Weights.Pack(b, 3, 4, WeightLayout.KByN, [200], []);
        act4.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("zeroPoints");
        var act5 = () => PackedInt8Weights.Pack(b, 3, 4, WeightLayout.KByN, [], [0f]);
        act5.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("scales");
        var packed = PackedInt8Weights.Pack(b, 3, 4, WeightLayout.KByN, [], []);
        var act6 = () => Int8Gemm.Multiply(new byte[5], 2, 0, packed, new int[8], 1);
        act6.Should().Throw<ArgumentException>().WithParameterName("a");
        var act7 = () => Int8Gemm.Multiply(new byte[6], 2, 0, packed, new int[7], 1);
        act7.Should().Throw<ArgumentException>().WithParameterName("c");
        var act8 = () => Int8Gemm.Multiply(new byte[6], 2, 256, packed, new int[8], 1);
        act8.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("aZeroPoint");
        var act9 = () => Int8Gemm.Multiply(new byte[6], 2, QuantParams.ForType<byte>(1f, 0), packed, [], new float[8], OutputClamp.None, 1);
        act9.Should().Throw<ArgumentException>().WithParameterName("b").WithMessage("*scales*");
        var act10 = () => new OutputClamp(1f, 0f);
        act10.Should().Throw<ArgumentOutOfRangeException>();
        var act11 = () => Int8Gemm.Multiply(new byte[6], 2, 0, packed, new int[8], 0);
        act11.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("maxDegreeOfParallelism");
    }

    private static void Check(Int8GemmPath path, Random random, int m, int n, int k, bool aSigned, bool bUnsigned, WeightLayout layout, bool extremes)
    {
        byte[] a = TestData.Codes<byte>(m * k, random.Next());
        byte[] bRaw = TestData.Codes<byte>(k * n, random.Next());
        if (extremes)
        {
            Array.Fill(a, aSigned ? (byte)0x80 : (byte)255);
            Array.Fill(bRaw, random.Next(2) == 0 ? (byte)0x80 : (byte)0x7F);
        }
        int aZp = aSigned ? (extremes ? 127 : random.Next(-128, 128)) : (extremes ? 0 : random.Next(0, 256));
        int[] bZp = Enumerable.Range(0, n).Select(_ => bUnsigned ? random.Next(0, 256) : random.Next(-128, 128)).ToArray();
        if (extremes) Array.Fill(bZp, bUnsigned ? 255 : -128);
        Check(path, a, bRaw, m, n, k, aSigned, aZp, bUnsigned, bZp, layout);
    }

    private static PackedInt8Weights Check(Int8GemmPath path, byte[] a, byte[] bRaw, int m, int n, int k, bool aSigned, int aZp, bool bUnsigned, int[] bZp, WeightLayout layout)
    {

        // Reference B as int8 [K, N] with matching zero points (uint8 weights become int8 shifted by −128).
        var bKByN = new sbyte[k * n];
        for (int t = 0; t < k; t++)
            for (int j = 0; j < n; j++)
            {
                byte raw = layout == WeightLayout.KByN ? bRaw[t * n + j] : bRaw[j * k + t];
                bKByN[t * n + j] = bUnsigned ? (sbyte)(raw - 128) : (sbyte)raw;
            }
        int[] referenceZp = bUnsigned ? bZp.Select(z => z - 128).ToArray() : bZp;
        int[] expected = Int8GemmReference.Multiply(a, aSigned, m, k, aZp, bKByN, n, referenceZp);

        var packed = PackedInt8Weights.Pack(path, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(bRaw.AsSpan()), k, n, layout, bZp, [], flip: bUnsigned);
        var c = new int[m * n];
        Int8Gemm.Run(aSigned, a, m, aZp, packed, c, default);
        c.Should().Equal(expected, $"path {packed.Path} M={m} N={n} K={k} aSigned={aSigned} bUnsigned={bUnsigned} {layout}");
        return packed;
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Pair_safe_weights_are_exact_and_take_the_maddubs_kernel_on_avx2(int pathValue)
    {
        // Weights whose K pairs (2i, 2i + 1) have positive parts and negative magnitudes each summing to ≤ 128: on AVX2 the
        // packing picks vpmaddubsw, exact only there. Extremes reach |pair sum| = 255 · 128 with A at 255.
        var path = (Int8GemmPath)pathValue;
        var random = new Random(pathValue * 31 + 5);
        for (int trial = 0; trial < 40; trial++)
        {
            int m = Sizes[random.Next(Sizes.Length)], n = Sizes[random.Next(Sizes.Length)], k = Sizes[random.Next(Sizes.Length)] + random.Next(5);
            bool aSigned = random.Next(2) == 0, bUnsigned = random.Next(3) == 0, extremes = trial % 4 == 0;
            var layout = random.Next(2) == 0 ? WeightLayout.KByN : WeightLayout.NByK;
            var stored = new int[k * n];   // [K, N], the values the kernel multiplies
            for (int j = 0; j < n; j++)
            {
                for (int t = 0; t < k; t += 2)
                {
                    int w0 = extremes ? (trial % 8 == 0 ? 127 : -128) : random.Next(-128, 128);
                    int w1 = extremes ? (w0 > 0 ? 1 : 0) : w0 > 0 ? random.Next(-128, 129 - w0) : random.Next(-128 - Math.Min(w0, 0), 128);
                    stored[t * n + j] = w0;
                    if (t + 1 < k) stored[(t + 1) * n + j] = w1;
                }
            }
            int offset = bUnsigned ? 128 : 0;
            byte[] bRaw = new byte[k * n];
            for (int t = 0; t < k; t++)
                for (int j = 0; j < n; j++)
                    bRaw[layout == WeightLayout.KByN ? t * n + j : j * k + t] = (byte)(stored[t * n + j] + offset);
            byte[] a = TestData.Codes<byte>(m * k, random.Next());
            int aZp = aSigned ? random.Next(-128, 128) : random.Next(0, 256);
            int[] bZp = Enumerable.Range(0, n).Select(_ => random.Next(-128, 128) + offset).ToArray();
            if (extremes)
            {
                Array.Fill(a, aSigned ? (byte)0x7F : (byte)255);   // both are 255 in the uint8 operand
                aZp = 0;
            }
            var packed = Check(path, a, bRaw, m, n, k, aSigned, aZp, bUnsigned, bZp, layout);
            packed.Path.Should().Be(path == Int8GemmPath.Avx2 ? Int8GemmPath.Avx2MaddUbs : path);
        }

        // One pair past the bound (positive 129, negative 129, as int8 or as uint8) keeps the general kernel.
        foreach (var (w0, w1) in new[] { (100, 29), (-128, -1), (64, 65) })
        {
            var weights = Enumerable.Repeat((sbyte)1, 40).ToArray();   // [K = 8, N = 5]
            weights[4 * 5 + 2] = (sbyte)w0;
            weights[5 * 5 + 2] = (sbyte)w1;
            PackedInt8Weights.Pack(path, weights, 8, 5, WeightLayout.KByN, [], [], flip: false).Path.Should().Be(path);
            var unsigned = weights.Select(w => (sbyte)(byte)(w + 128)).ToArray();
            PackedInt8Weights.Pack(path, unsigned, 8, 5, WeightLayout.KByN, [], [], flip: true).Path.Should().Be(path);
            weights[5 * 5 + 2] = 0;   // rows 4 and 6 are not a pair: (w0, 1) alone is safe unless |w0| > 127
            weights[6 * 5 + 2] = (sbyte)w1;
            PackedInt8Weights.Pack(path, weights, 8, 5, WeightLayout.KByN, [], [], flip: false).Path
                .Should().Be(path == Int8GemmPath.Avx2 ? Int8GemmPath.Avx2MaddUbs : path);
        }
    }
}
