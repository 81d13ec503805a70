namespace Quant.Net.Kernels;

/// <summary>
/// A clamp fused into a GEMM's float output: none, ReLU, ReLU6 or any [min, max]. The default value is
/// <see cref="None"/>, so kernel and layer methods take it as an optional argument.
/// </summary>
public readonly record struct OutputClamp
{
    // Stored relative to "no clamp" so that default(OutputClamp) is None: (−∞, +∞) is kept as unbounded.
    private readonly float _min, _max;
    private readonly bool _bounded;

    /// <summary>Creates a clamp to [<paramref name="min"/>, <paramref name="max"/>].</summary>
    /// <param name="min">Lower bound (may be −∞).</param>
    /// <param name="max">Upper bound (may be +∞), ≥ <paramref name="min"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A bound is NaN or min &gt; max.</exception>
    public OutputClamp(float min, float max)
    {
        if (float.IsNaN(min) || float.IsNaN(max) || min > max)
            throw new ArgumentOutOfRangeException(nameof(min), $"A clamp needs min ≤ max, neither NaN (got [{min}, {max}]).");
        _bounded = !(float.IsNegativeInfinity(min) && float.IsPositiveInfinity(max));
        (_min, _max) = _bounded ? (min, max) : (0f, 0f);
    }

    /// <summary>Lower bound.</summary>
    public float Min => _bounded ? _min : float.NegativeInfinity;

    /// <summary>Upper bound.</summary>
    public float Max => _bounded ? _max : float.PositiveInfinity;

    /// <summary>No clamp (the default value).</summary>
    public static OutputClamp None => default;

    /// <summary>max(x, 0).</summary>
    public static OutputClamp Relu => new(0f, float.PositiveInfinity);

    /// <summary>min(max(x, 0), 6).</summary>
    public static OutputClamp Relu6 => new(0f, 6f);
}
