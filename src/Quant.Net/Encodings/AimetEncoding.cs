namespace Quant.Net;

/// <summary>
/// One encoding in AIMET's convention: codes are unsigned in <c>[0, 2^bitwidth - 1]</c> and <c>x = (q + Offset) * Scale</c>,
/// so <c>Offset = -zero_point</c> of the unsigned code; strict symmetric int8 has <c>Offset = -127</c>, symmetric int8 <c>-128</c>.
/// </summary>
/// <param name="Min">Smallest representable value, <c>Offset * Scale</c>.</param>
/// <param name="Max">Largest representable value.</param>
/// <param name="Scale">AIMET's delta.</param>
/// <param name="Offset">AIMET's offset (&lt;= 0).</param>
/// <param name="BitWidth">Bits per value.</param>
/// <param name="IsSymmetric">Whether AIMET marks the encoding symmetric.</param>
public readonly record struct AimetEncoding(float Min, float Max, float Scale, int Offset, int BitWidth, bool IsSymmetric)
{
    /// <summary>
    /// Converts to <see cref="QuantParams"/> whose codes lie in <paramref name="qMin"/>..<paramref name="qMax"/>
    /// (for example [-128, 127] for a signed int8 target): <c>ZeroPoint = qMin - Offset</c>.
    /// </summary>
    /// <param name="qMin">Smallest integer code of the target type.</param>
    /// <param name="qMax">Largest integer code of the target type.</param>
    /// <exception cref="ArgumentOutOfRangeException">The resulting zero point or scale is invalid for that range.</exception>
    public QuantParams ToQuantParams(int qMin, int qMax) => new(Scale, qMin - Offset, qMin, qMax);

    /// <summary>Converts to <see cref="QuantParams"/> for <paramref name="scheme"/>'s integer range.</summary>
    /// <param name="scheme">The target scheme; its bit width should equal <see cref="BitWidth"/>.</param>
    /// <exception cref="ArgumentException">The bit widths differ.</exception>
    public QuantParams ToQuantParams(QuantScheme scheme)
    {
        if (scheme.BitWidth != BitWidth)
            throw new ArgumentException($"Scheme bit width {scheme.BitWidth} differs from the encoding's {BitWidth}.", nameof(scheme));
        return ToQuantParams(scheme.QMin, scheme.QMax);
    }
}
