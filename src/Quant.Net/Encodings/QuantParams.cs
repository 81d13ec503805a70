namespace Quant.Net;

/// <summary>
/// One affine quantization encoding: <c>q = saturate(round_half_to_even(x / Scale) + ZeroPoint, QMin, QMax)</c> and
/// <c>x = (q - ZeroPoint) * Scale</c>, as ONNX <c>QuantizeLinear</c>/<c>DequantizeLinear</c>.
/// </summary>
/// <remarks>The scale is always finite and positive and the zero point always lies in [QMin, QMax]; construction enforces both.</remarks>
public readonly record struct QuantParams
{
    /// <summary>The smallest scale a computed encoding gets (the smallest normal float), so that a tiny range never yields 0 or a subnormal scale.</summary>
    public const float MinScale = 1.17549435E-38f;

    /// <summary>Creates an encoding, validating it.</summary>
    /// <param name="scale">Step between two integer codes; finite and greater than 0.</param>
    /// <param name="zeroPoint">Integer code that represents 0.0; within [<paramref name="qMin"/>, <paramref name="qMax"/>].</param>
    /// <param name="qMin">Smallest integer code.</param>
    /// <param name="qMax">Largest integer code; greater than <paramref name="qMin"/>, and both within the 16-bit signed/unsigned range.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is outside the ranges above.</exception>
    public QuantParams(float scale, int zeroPoint, int qMin, int qMax)
    {
        ValidateScale(scale, nameof(scale));
        if (qMin < short.MinValue || qMax > ushort.MaxValue || qMin >= qMax)
            throw new ArgumentOutOfRangeException(nameof(qMax), $"Integer range [{qMin}, {qMax}] must be non-empty and within [-32768, 65535].");
        if (zeroPoint < qMin || zeroPoint > qMax)
            throw new ArgumentOutOfRangeException(nameof(zeroPoint), zeroPoint, $"Zero point must lie in [{qMin}, {qMax}].");
        Scale = scale;
        ZeroPoint = zeroPoint;
        QMin = qMin;
        QMax = qMax;
    }

    /// <summary>Step between two integer codes (finite, &gt; 0).</summary>
    public float Scale { get; }

    /// <summary>Integer code that represents 0.0 exactly.</summary>
    public int ZeroPoint { get; }

    /// <summary>Smallest integer code.</summary>
    public int QMin { get; }

    /// <summary>Largest integer code.</summary>
    public int QMax { get; }

    /// <summary>The smallest representable real value, <c>(QMin - ZeroPoint) * Scale</c>.</summary>
    public float RepresentableMin => (QMin - ZeroPoint) * Scale;

    /// <summary>The largest representable real value, <c>(QMax - ZeroPoint) * Scale</c>.</summary>
    public float RepresentableMax => (QMax - ZeroPoint) * Scale;

    /// <summary>Encoding for the full range of an integer type (<see cref="sbyte"/>, <see cref="byte"/>, <see cref="short"/> or <see cref="ushort"/>).</summary>
    /// <typeparam name="T">The stored integer type.</typeparam>
    /// <param name="scale">Step between two integer codes.</param>
    /// <param name="zeroPoint">Integer code of 0.0; must lie in the type's range.</param>
    public static QuantParams ForType<T>(float scale, int zeroPoint) where T : unmanaged
    {
        var (qMin, qMax) = QuantTypes.RangeOf<T>();
        return new QuantParams(scale, zeroPoint, qMin, qMax);
    }

    /// <summary>
    /// Computes the encoding for a real range [<paramref name="min"/>, <paramref name="max"/>] under <paramref name="scheme"/>.
    /// </summary>
    /// <remarks>
    /// The range is first widened to contain 0. Asymmetric: <c>scale = (max - min) / (QMax - QMin)</c>,
    /// <c>zeroPoint = clamp(round_half_to_even(QMin - min / scale))</c>. Symmetric: <c>scale = max(|min|, |max|) / floor((QMax - QMin) / 2)</c>
    /// and the zero point is the middle code (0 for signed types, 2^(b-1) for unsigned), as AIMET does: the largest
    /// magnitude is representable on both sides. A degenerate range (all zeros, empty tensor) gets scale 1; any positive
    /// scale below <see cref="MinScale"/> is raised to it. Computation is in double precision.
    /// </remarks>
    /// <param name="scheme">Bit width, signedness, symmetry and range (first, as in <see cref="QuantEncoding.FromRange"/>).</param>
    /// <param name="min">The smallest observed value; finite.</param>
    /// <param name="max">The largest observed value; finite and &gt;= <paramref name="min"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A bound is NaN or infinite, or <paramref name="min"/> &gt; <paramref name="max"/>.</exception>
    public static QuantParams FromRange(QuantScheme scheme, float min, float max)
    {
        if (!float.IsFinite(min)) throw new ArgumentOutOfRangeException(nameof(min), min, "Range bound must be finite.");
        if (!float.IsFinite(max)) throw new ArgumentOutOfRangeException(nameof(max), max, "Range bound must be finite.");
        if (min > max) throw new ArgumentOutOfRangeException(nameof(min), min, $"Range minimum exceeds maximum {max}.");
        int qMin = scheme.QMin, qMax = scheme.QMax;
        double lo = Math.Min(min, 0.0), hi = Math.Max(max, 0.0);
        if (scheme.IsSymmetric)
        {
            double absMax = Math.Max(-lo, hi);
            int half = (qMax - qMin) / 2;
            int zeroPoint = scheme.IsSigned ? 0 : (qMin + qMax + 1) / 2;
            return new QuantParams(SafeScale(absMax / half), zeroPoint, qMin, qMax);
        }
        else
        {
            float scale = SafeScale((hi - lo) / (qMax - qMin));
            double zp = Math.Round(qMin - lo / scale, MidpointRounding.ToEven);
            return new QuantParams(scale, (int)Math.Clamp(zp, qMin, qMax), qMin, qMax);
        }
    }

    /// <summary>Converts to AIMET's convention (unsigned codes with <c>offset = -(ZeroPoint - QMin)</c>).</summary>
    /// <param name="bitWidth">Bit width recorded in the AIMET encoding.</param>
    /// <param name="isSymmetric">Whether the encoding is marked symmetric.</param>
    public AimetEncoding ToAimet(int bitWidth, bool isSymmetric)
    {
        int offset = -(ZeroPoint - QMin);
        int levels = QMax - QMin;
        return new AimetEncoding(offset * Scale, (offset + levels) * Scale, Scale, offset, bitWidth, isSymmetric);
    }

    internal static void ValidateScale(float scale, string paramName)
    {
        if (!float.IsFinite(scale) || scale <= 0f)
            throw new ArgumentOutOfRangeException(paramName, scale, "Scale must be finite and greater than 0.");
    }

    private static float SafeScale(double scale)
    {
        if (scale == 0.0) return 1f;
        return (float)Math.Max(scale, MinScale);
    }

    /// <inheritdoc/>
    public override string ToString() => $"scale={Scale:R} zero_point={ZeroPoint} q=[{QMin}, {QMax}]";
}
