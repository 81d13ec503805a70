using System.Globalization;

namespace Quant.Net.Techniques;

/// <summary>A bit-width choice for one layer: weight bits and output-activation bits (32 and 32: left in FP32).</summary>
/// <param name="WeightBits">2, 3, 4, 8, 16 or 32 (FP32).</param>
/// <param name="ActivationBits">4, 8, 16 or 32 (FP32).</param>
public sealed record PrecisionCandidate(int WeightBits, int ActivationBits)
{
    /// <summary>Layer left unquantized.</summary>
    public static PrecisionCandidate Fp32 { get; } = new(32, 32);

    /// <summary>16-bit weights and activations.</summary>
    public static PrecisionCandidate W16A16 { get; } = new(16, 16);

    /// <summary>8-bit weights, 16-bit activations.</summary>
    public static PrecisionCandidate W8A16 { get; } = new(8, 16);

    /// <summary>8-bit weights and activations.</summary>
    public static PrecisionCandidate W8A8 { get; } = new(8, 8);

    /// <summary>4-bit weights, 16-bit activations.</summary>
    public static PrecisionCandidate W4A16 { get; } = new(4, 16);

    /// <summary>4-bit weights, 8-bit activations.</summary>
    public static PrecisionCandidate W4A8 { get; } = new(4, 8);

    /// <summary>Relative cost per multiply-accumulate (weight bits × activation bits).</summary>
    public int BitOpsPerMac => WeightBits * ActivationBits;

    /// <summary>Whether this candidate costs less than <paramref name="other"/>: fewer BitOps, or as many with fewer weight bits.</summary>
    public bool IsCheaperThan(PrecisionCandidate other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return BitOpsPerMac < other.BitOpsPerMac || (BitOpsPerMac == other.BitOpsPerMac && WeightBits < other.WeightBits);
    }

    /// <summary>"W8A16", or "FP32".</summary>
    public override string ToString() => WeightBits >= 32 ? "FP32" : string.Create(CultureInfo.InvariantCulture, $"W{WeightBits}A{ActivationBits}");

    /// <summary>Parses "W8A16" or "FP32" (case-insensitive).</summary>
    /// <exception cref="FormatException">Not of that form, or bit widths with no quantized type (weights 2, 3, 4, 8, 16; activations 4, 8, 16).</exception>
    public static PrecisionCandidate Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim().ToUpperInvariant();
        if (t == "FP32")
        {
            return Fp32;
        }

        int a = t.IndexOf('A', StringComparison.Ordinal);
        if (t.Length < 4 || t[0] != 'W' || a < 2 || !int.TryParse(t.AsSpan(1, a - 1), CultureInfo.InvariantCulture, out int w)
            || !int.TryParse(t.AsSpan(a + 1), CultureInfo.InvariantCulture, out int x) || w is not (2 or 3 or 4 or 8 or 16) || x is not (4 or 8 or 16))
        {
            throw new FormatException($"'{text}' is not a candidate: use FP32 or W<2|3|4|8|16>A<4|8|16>, for example W8A16.");
        }

        return new PrecisionCandidate(w, x);
    }
}
