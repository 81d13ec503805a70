namespace Quant.Net;

/// <summary>
/// A real multiplier in gemmlowp/TFLite fixed point: <c>m ≈ Multiplier · 2^(Shift - 31)</c> with <c>Multiplier</c> in
/// [2^30, 2^31) (or 0). Requantizing with it uses only integer arithmetic, as integer-only accelerators do.
/// </summary>
/// <param name="Multiplier">Q31 mantissa in [2^30, 2^31), or 0 for a zero multiplier.</param>
/// <param name="Shift">Power-of-two exponent: positive shifts left, negative shifts right; within [-31, 30].</param>
public readonly record struct FixedPointMultiplier(int Multiplier, int Shift)
{
    /// <summary>Converts a real multiplier (finite, ≥ 0, below 2^30) into mantissa and exponent, rounding the mantissa to nearest.</summary>
    /// <param name="multiplier">The real multiplier, usually <c>inputScale · weightScale / outputScale</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The multiplier is negative, not finite or too large.</exception>
    public static FixedPointMultiplier FromDouble(double multiplier)
    {
        if (!double.IsFinite(multiplier) || multiplier < 0 || multiplier >= 1 << 30)
            throw new ArgumentOutOfRangeException(nameof(multiplier), multiplier, "Multiplier must be finite, non-negative and below 2^30.");
        if (multiplier == 0) return new FixedPointMultiplier(0, 0);
        int exponent = Math.ILogB(multiplier) + 1; // multiplier = mantissa · 2^exponent, mantissa in [0.5, 1)
        long q = (long)Math.Round(Math.ScaleB(multiplier, 31 - exponent), MidpointRounding.AwayFromZero);
        if (q == 1L << 31)
        {
            q /= 2;
            exponent++;
        }
        if (exponent < -31) return new FixedPointMultiplier(0, 0);
        return new FixedPointMultiplier((int)q, exponent);
    }

    /// <summary>The real value this fixed-point multiplier represents.</summary>
    public double ToDouble() => Math.ScaleB(Multiplier, Shift - 31);

    /// <summary>
    /// <c>RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x · 2^max(Shift,0), Multiplier), max(-Shift,0))</c>, exactly
    /// as gemmlowp defines it: the high multiply sends ties toward +∞, the rounding shift sends them away from zero.
    /// </summary>
    /// <param name="value">The int32 accumulator.</param>
    public int Apply(int value)
    {
        int left = Shift > 0 ? Shift : 0, right = Shift > 0 ? 0 : -Shift;
        long shifted = (long)value << left;
        int x = (int)Math.Clamp(shifted, int.MinValue, int.MaxValue);
        return RoundingDivideByPowerOfTwo(SaturatingRoundingDoublingHighMul(x, Multiplier), right);
    }

    private static int SaturatingRoundingDoublingHighMul(int a, int b)
    {
        if (a == int.MinValue && b == int.MinValue) return int.MaxValue;
        long ab = (long)a * b;
        long nudge = ab >= 0 ? 1L << 30 : 1 - (1L << 30);
        return (int)((ab + nudge) / (1L << 31));
    }

    private static int RoundingDivideByPowerOfTwo(int x, int exponent)
    {
        if (exponent == 0) return x;
        if (exponent >= 32) return 0;
        int mask = (int)((1L << exponent) - 1);
        int remainder = x & mask;
        int threshold = (mask >> 1) + (x < 0 ? 1 : 0);
        return (x >> exponent) + (remainder > threshold ? 1 : 0);
    }
}
