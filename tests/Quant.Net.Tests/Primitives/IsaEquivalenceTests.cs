using Quant.Net.Simd;
namespace Quant.Net.Tests.Primitives;

/// <summary>Every vector path against the scalar reference, bit for bit, for every length 0..257 and odd shapes.</summary>
[Trait("Category", "Kernel")]
public sealed class IsaEquivalenceTests
{
    private const int MaxLength = 257;

    public static TheoryData<int> Levels => TestData.VectorLevels();

    [Theory]
    [MemberData(nameof(Levels))]
    public void Quantize_matches_the_reference_for_every_type_and_length(int levelValue)
    {
        var level = (SimdLevel)levelValue;
        Check<sbyte>(level, QuantParams.ForType<sbyte>(0.37f, -3));
        Check<sbyte>(level, new QuantParams(0.11f, 0, -127, 127));
        Check<sbyte>(level, new QuantParams(2.5f, 1, -8, 7)); // int4 range held in sbyte
        Check<byte>(level, QuantParams.ForType<byte>(1.3f, 128));
        Check<byte>(level, QuantParams.ForType<byte>(1f, 0));
        Check<short>(level, QuantParams.ForType<short>(0.0071f, 17));
        Check<ushort>(level, QuantParams.ForType<ushort>(0.013f, 32768));

        static void Check<T>(SimdLevel level, QuantParams p) where T : unmanaged
        {
            for (int n = 0; n <= MaxLength; n++)
            {
                float[] x = TestData.Floats(n, n * 31 + 7);
                var expected = new T[n];
                var actual = new T[n];
                QuantOps.Quantize(SimdLevel.Scalar, x, expected, p);
                QuantOps.Quantize(level, x, actual, p);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"{typeof(T).Name} n={n} {p} differs at {level}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void Long_runs_at_every_alignment_match_the_reference(int levelValue)
    {
        // Runs of 16384+ elements take an alignment prologue before the vector loop; start them at every float offset.
        var level = (SimdLevel)levelValue;
        float[] x = TestData.Floats(16384 + 16 + 37, 99);
        var p = QuantParams.ForType<sbyte>(1.9f, 5);
        for (int offset = 0; offset <= 16; offset++)
        {
            var source = x.AsSpan(offset, 16384 + 37);
            var expected = new sbyte[source.Length];
            var actual = new sbyte[source.Length];
            QuantOps.Quantize(SimdLevel.Scalar, source, expected, p);
            QuantOps.Quantize(level, source, actual, p);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"offset {offset}");

            // In place over the same memory, as the public contract allows.
            float[] copy = x.AsSpan(offset, source.Length).ToArray();
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(copy.AsSpan());
            QuantOps.Quantize(level, copy, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(bytes)[..copy.Length], p);
            Assert.True(expected.AsSpan().SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(bytes)[..copy.Length]), $"in place, offset {offset}");
        }
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void Dequantize_matches_the_reference_for_every_type_and_length(int levelValue)
    {
        var level = (SimdLevel)levelValue;
        Check<sbyte>(level, QuantParams.ForType<sbyte>(0.37f, -3));
        Check<byte>(level, QuantParams.ForType<byte>(1.3f, 255));
        Check<short>(level, QuantParams.ForType<short>(0.0071f, -32768));
        Check<ushort>(level, QuantParams.ForType<ushort>(3.5e-5f, 65535));

        static void Check<T>(SimdLevel level, QuantParams p) where T : unmanaged
        {
            for (int n = 0; n <= MaxLength; n++)
            {
                T[] q = TestData.Codes<T>(n, n + 1);
                var expected = new float[n];
                var actual = new float[n];
                QuantOps.Dequantize(SimdLevel.Scalar, (ReadOnlySpan<T>)q, expected, p);
                QuantOps.Dequantize(level, (ReadOnlySpan<T>)q, actual, p);
                TestData.BitwiseEqual(expected, actual);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void FakeQuantize_and_stochastic_rounding_match_the_reference(int levelValue)
    {
        var level = (SimdLevel)levelValue;
        var p = QuantParams.ForType<byte>(0.9f, 131);
        for (int n = 0; n <= MaxLength; n++)
        {
            float[] x = TestData.Floats(n, 1000 + n);
            var expected = new float[n];
            var actual = new float[n];
            QuantOps.FakeQuantize(SimdLevel.Scalar, x, expected, p);
            QuantOps.FakeQuantize(level, x, actual, p);
            TestData.BitwiseEqual(expected, actual);

            var sExpected = new sbyte[n];
            var sActual = new sbyte[n];
            var sp = new QuantParams(0.5f, 0, -8, 7);
            QuantOps.QuantizeStochastic(SimdLevel.Scalar, x, sExpected, sp, seed: 42, firstIndex: 5);
            QuantOps.QuantizeStochastic(level, x, sActual, sp, seed: 42, firstIndex: 5);
            Assert.True(sExpected.AsSpan().SequenceEqual(sActual), $"stochastic n={n} differs at {level}");
        }
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void Requantize_matches_the_reference_per_tensor_and_per_channel(int levelValue)
    {
        var level = (SimdLevel)levelValue;
        var random = new Random(3);
        for (int n = 0; n <= MaxLength; n++)
        {
            var acc = new int[n];
            for (int i = 0; i < n; i++) acc[i] = random.Next(4) == 0 ? (random.Next(2) == 0 ? int.MaxValue : int.MinValue) : random.Next(-70000, 70000);
            var expected = new sbyte[n];
            var actual = new sbyte[n];
            QuantOps.Requantize(SimdLevel.Scalar, acc, expected, [0.0031f], -5);
            QuantOps.Requantize(level, acc, actual, [0.0031f], -5);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"per-tensor n={n}");

            if (n % 7 != 0) continue;
            float[] multipliers = TestData.PositiveScales(7, n).Select(s => s * 1e-3f).ToArray();
            var uExpected = new byte[n];
            var uActual = new byte[n];
            QuantOps.Requantize(SimdLevel.Scalar, acc, uExpected, multipliers, 100);
            QuantOps.Requantize(level, acc, uActual, multipliers, 100);
            Assert.True(uExpected.AsSpan().SequenceEqual(uActual), $"per-channel n={n}");
        }
    }

    public static TheoryData<int, int[], int, int> Layouts()
    {
        var data = new TheoryData<int, int[], int, int>();
        foreach (int level in TestData.VectorLevels())
        {
            data.Add(level, [3, 67], 0, 0);       // per-channel, rows of 67 (tails)
            data.Add(level, [5, 131], 1, 0);      // per-channel along the last axis (scale varies per element)
            data.Add(level, [2, 3, 5, 7], 1, 0);  // NCHW-like, inner 35
            data.Add(level, [2, 3, 5, 7], -1, 0); // negative axis
            data.Add(level, [97, 3], 0, 32);      // blocks along axis 0 with inner 3 (varying), partial last block
            data.Add(level, [4, 257], 1, 64);     // blocks along the last axis, partial last block
            data.Add(level, [6, 129], 1, 16);
            data.Add(level, [1], 0, 1);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Per_channel_and_per_block_paths_match_the_reference(int levelValue, int[] shape, int axis, int blockSize)
    {
        var level = (SimdLevel)levelValue;
        var granularity = blockSize == 0 ? QuantGranularity.PerChannel(axis) : QuantGranularity.PerBlock(axis, blockSize);
        var scheme = new QuantScheme(8, isSigned: false, isSymmetric: false, granularity: granularity);
        int n = shape.Aggregate(1, (a, b) => a * b);
        float[] x = TestData.Floats(n, n);
        var encoding = QuantEncoding.FromTensor(scheme, TestData.Floats(n, n + 1, withSpecials: false), shape);

        var expected = new byte[n];
        var actual = new byte[n];
        QuantOps.Quantize(SimdLevel.Scalar, x, shape, encoding, expected);
        QuantOps.Quantize(level, x, shape, encoding, actual);
        Assert.True(expected.AsSpan().SequenceEqual(actual));

        var fExpected = new float[n];
        var fActual = new float[n];
        QuantOps.Dequantize(SimdLevel.Scalar, (ReadOnlySpan<byte>)expected, shape, encoding, fExpected);
        QuantOps.Dequantize(level, (ReadOnlySpan<byte>)expected, shape, encoding, fActual);
        TestData.BitwiseEqual(fExpected, fActual);

        QuantOps.FakeQuantize(SimdLevel.Scalar, x, shape, encoding, fExpected);
        QuantOps.FakeQuantize(level, x, shape, encoding, fActual);
        TestData.BitwiseEqual(fExpected, fActual);
    }
}
