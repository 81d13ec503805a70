using System.Numerics.Tensors;

namespace Quant.Net;

/// <summary>How far a quantized (or otherwise approximated) tensor is from its FP32 reference.</summary>
public static class ErrorMetrics
{
    /// <summary>Mean squared error, computed in double precision; 0 for empty inputs.</summary>
    /// <param name="reference">The FP32 values.</param>
    /// <param name="approximation">The values to compare; same length.</param>
    public static double MeanSquaredError(ReadOnlySpan<float> reference, ReadOnlySpan<float> approximation)
    {
        CheckLengths(reference, approximation);
        if (reference.IsEmpty) return 0;
        double sum = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double d = (double)approximation[i] - reference[i];
            sum += d * d;
        }
        return sum / reference.Length;
    }

    /// <summary>
    /// Signal-to-quantization-noise ratio in dB: <c>10·log10(Σx² / Σ(x - y)²)</c>. +∞ when the two are identical,
    /// −∞ when the reference is all zeros but the approximation is not.
    /// </summary>
    /// <param name="reference">The FP32 values.</param>
    /// <param name="approximation">The values to compare; same length.</param>
    public static double SqnrDecibels(ReadOnlySpan<float> reference, ReadOnlySpan<float> approximation)
    {
        CheckLengths(reference, approximation);
        double signal = 0, noise = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double x = reference[i], d = (double)approximation[i] - x;
            signal += x * x;
            noise += d * d;
        }
        if (noise == 0) return double.PositiveInfinity;
        return 10 * Math.Log10(signal / noise);
    }

    /// <summary>Largest absolute difference.</summary>
    /// <param name="reference">The FP32 values.</param>
    /// <param name="approximation">The values to compare; same length.</param>
    public static float MaxAbsoluteError(ReadOnlySpan<float> reference, ReadOnlySpan<float> approximation)
    {
        CheckLengths(reference, approximation);
        float max = 0;
        for (int i = 0; i < reference.Length; i++) max = Math.Max(max, Math.Abs(approximation[i] - reference[i]));
        return max;
    }

    /// <summary>Cosine similarity of the two vectors (1 = same direction); NaN if either is all zeros.</summary>
    /// <param name="reference">The FP32 values.</param>
    /// <param name="approximation">The values to compare; same length.</param>
    public static double CosineSimilarity(ReadOnlySpan<float> reference, ReadOnlySpan<float> approximation)
    {
        CheckLengths(reference, approximation);
        if (reference.IsEmpty) return double.NaN;
        return TensorPrimitives.CosineSimilarity(reference, approximation);
    }

    private static void CheckLengths(ReadOnlySpan<float> reference, ReadOnlySpan<float> approximation)
    {
        if (reference.Length != approximation.Length)
            throw new ArgumentException($"Lengths differ: reference {reference.Length}, approximation {approximation.Length}.", nameof(approximation));
    }
}
