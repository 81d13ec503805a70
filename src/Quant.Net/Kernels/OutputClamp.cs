namespace Quant.Net.Kernels;

/// <summary>A clamp fused into a GEMM's float output: none, ReLU, ReLU6 or any [min, max].</summary>
public readonly record struct OutputClamp
{
    /// <summary>Creates a clamp to [<paramref name="min"/>, <paramref name="max"/>].</summary>
    /// <param name="min">Lower bound (may be −∞).</param>
    /// <param name="max">Upper bound (may be +∞), ≥ <paramref name="min"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A bound is NaN or min &gt; max.</exception>
    public OutputClamp(float min, float max)
    {
        if (float.IsNaN(min) || float.IsNaN(max) || min > max)
            throw new ArgumentOutOfRangeException(nameof(min), $"A clamp needs min ≤ max, neither NaN (got [{min}, {max}]).");
        Min = min;
        Max = max;
    }

    /// <summary>Lower bound.</summary>
    public float Min { get; }

    /// <summary>Upper bound.</summary>
    public float Max { get; }

    /// <summary>No clamp.</summary>
    public static OutputClamp None => new(float.NegativeInfinity, float.PositiveInfinity);

    /// <summary>max(x, 0).</summary>
    public static OutputClamp Relu => new(0f, float.PositiveInfinity);

    /// <summary>min(max(x, 0), 6).</summary>
    public static OutputClamp Relu6 => new(0f, 6f);
}
