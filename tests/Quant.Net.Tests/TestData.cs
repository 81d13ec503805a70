using Quant.Net.Simd;
namespace Quant.Net.Tests;

/// <summary>Deterministic test inputs, including the values that break careless kernels.</summary>
internal static class TestData
{
    public static readonly float[] Specials =
    [
        0f, -0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, float.NaN, float.PositiveInfinity, float.NegativeInfinity,
        float.MaxValue, float.MinValue, float.Epsilon, -float.Epsilon, 1e-38f, 127.5f, -128.5f, 255.5f, 1e9f, -1e9f,
        32767.5f, -32768.5f, 65535.5f,
    ];

    /// <summary>Random values on a scale a little wider than the range, with special values sprinkled in.</summary>
    public static float[] Floats(int length, int seed, float spread = 300f, bool withSpecials = true)
    {
        var random = new Random(seed);
        var data = new float[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (float)((random.NextDouble() * 2 - 1) * spread);
            if (random.Next(4) == 0) data[i] = MathF.Round(data[i]) + (random.Next(2) == 0 ? 0.5f : -0.5f); // exact ties
            if (withSpecials && random.Next(16) == 0) data[i] = Specials[random.Next(Specials.Length)];
        }
        return data;
    }

    /// <summary>The FP32 outputs [rows, out] of a linear layer y = x·Wᵀ + b (optionally ReLU), summed in double: AdaRound's targets.</summary>
    public static float[] Linear(float[] x, float[] w, float[] b, int rows, int inFeatures, int outFeatures, bool relu = false)
    {
        var t = new float[rows * outFeatures];
        for (int r = 0; r < rows; r++)
        {
            for (int o = 0; o < outFeatures; o++)
            {
                double s = b[o];
                for (int i = 0; i < inFeatures; i++)
                {
                    s += x[(r * inFeatures) + i] * w[(o * inFeatures) + i];
                }

                t[(r * outFeatures) + o] = relu ? (float)Math.Max(s, 0) : (float)s;
            }
        }

        return t;
    }

    public static float[] PositiveScales(int count, int seed)
    {
        var random = new Random(seed);
        var scales = new float[count];
        for (int i = 0; i < count; i++) scales[i] = (float)Math.Exp(random.NextDouble() * 6 - 3);
        return scales;
    }

    public static int[] ZeroPoints(int count, int seed, int min, int max)
    {
        var random = new Random(seed);
        var zeroPoints = new int[count];
        for (int i = 0; i < count; i++) zeroPoints[i] = random.Next(min, max + 1);
        return zeroPoints;
    }

    public static T[] Codes<T>(int length, int seed) where T : unmanaged
    {
        var random = new Random(seed);
        var bytes = new byte[length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>()];
        random.NextBytes(bytes);
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(bytes).ToArray();
    }

    /// <summary>Every SIMD level the machine supports except the scalar reference.</summary>
    public static TheoryData<int> VectorLevels()
    {
        var data = new TheoryData<int>();
        foreach (var level in IsaConfig.ElementwiseLevels)
        {
            if (level != SimdLevel.Scalar) data.Add((int)level);
        }
        if (data.Count == 0) data.Add((int)SimdLevel.Scalar); // no SIMD (DOTNET_EnableHWIntrinsic=0): the reference against itself
        return data;
    }

    public static void BitwiseEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"Element {i}: expected {expected[i]:R} (0x{BitConverter.SingleToInt32Bits(expected[i]):X8}), got {actual[i]:R} (0x{BitConverter.SingleToInt32Bits(actual[i]):X8}).");
        }
    }
}
