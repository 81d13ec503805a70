namespace Quant.Net.Tests.Observers;

/// <summary>The heavy-tailed distributions range estimators must cope with, deterministic per seed.</summary>
internal static class Distributions
{
    public static float[] Gaussian(int n, int seed, double mean = 0, double sigma = 1)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(mean + sigma * Normal(r))).ToArray();
    }

    public static float[] Laplace(int n, int seed, double b = 1)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ =>
        {
            double u = r.NextDouble() - 0.5;
            return (float)(-b * Math.Sign(u) * Math.Log(1 - 2 * Math.Abs(u)));
        }).ToArray();
    }

    /// <summary>Student's t with ν degrees of freedom (ν = 3: very heavy tails).</summary>
    public static float[] StudentT(int n, int seed, int nu = 3)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ =>
        {
            double chi2 = 0;
            for (int k = 0; k < nu; k++) { double z = Normal(r); chi2 += z * z; }
            return (float)(Normal(r) / Math.Sqrt(chi2 / nu));
        }).ToArray();
    }

    public static float[] Relu(int n, int seed) => Gaussian(n, seed, mean: 0.3).Select(v => Math.Max(v, 0f)).ToArray();

    public static float[] WithOutliers(int n, int seed)
    {
        float[] x = Gaussian(n, seed);
        x[n / 3] = 60f;
        x[2 * n / 3] = -45f;
        x[n - 1] = 80f;
        return x;
    }

    public static IEnumerable<(string Name, float[] Data)> HeavyTailed(int n, int seed)
    {
        yield return ("Laplace", Laplace(n, seed));
        yield return ("Student-t(3)", StudentT(n, seed + 1));
        yield return ("ReLU", Relu(n, seed + 2));
        yield return ("Gaussian+outliers", WithOutliers(n, seed + 3));
    }

    private static double Normal(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    /// <summary>Mean squared error of fake-quantizing <paramref name="data"/> with <paramref name="encoding"/> (per tensor).</summary>
    public static double QuantizationMse(float[] data, QuantEncoding encoding)
    {
        var fake = new float[data.Length];
        QuantOps.FakeQuantize(data, fake, encoding[0]);
        return ErrorMetrics.MeanSquaredError(data, fake);
    }
}
