using System.Globalization;

namespace Quant.Net.Reports;

/// <summary>
/// Scores as people read them, for the reports and the command line alike: accuracies in percent with one decimal
/// ("93.8%", differences in points), similarities with five decimals ("0.99912").
/// </summary>
/// <param name="isAccuracy">The scores are accuracies (<see cref="Quant.Net.Onnx.ModelScore.IsAccuracy"/>): fractions, printed in percent.</param>
internal sealed class ScoreText(bool isAccuracy)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Top-1 accuracies (fractions).</summary>
    public static ScoreText Accuracy { get; } = new(true);

    private bool Percent { get; } = isAccuracy;

    /// <summary>A score: "93.8%" or "0.99912".</summary>
    public string Value(double value) => Percent ? Number(100 * value, "F1") + "%" : Number(value, "F5");

    /// <summary>A difference of scores, signed: "−0.4 pt" or "−0.00031".</summary>
    public string Difference(double value) => (value < 0 ? "−" : value > 0 ? "+" : "±") + Amount(value);

    /// <summary>The size of a difference, unsigned: "0.4 pt" or "0.00031".</summary>
    public string Amount(double value) => Percent ? Number(Math.Abs(100 * value), "F1") + " pt" : Number(Math.Abs(value), "F5");

    private static string Number(double value, string format) =>
        double.IsPositiveInfinity(value) ? "∞" : double.IsNegativeInfinity(value) ? "−∞" : value.ToString(format, Inv);
}
