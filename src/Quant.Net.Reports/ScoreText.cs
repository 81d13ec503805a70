using System.Globalization;

namespace Quant.Net.Reports;

/// <summary>
/// Scores as people read them, for the reports and the command line alike: accuracies in percent with one decimal
/// ("93.8%", differences in points), similarities with five decimals ("0.99912").
/// </summary>
/// <param name="scoreName">What the scores measure; a name with '%' in it is an accuracy in percent.</param>
internal sealed class ScoreText(string scoreName)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Top-1 accuracies in percent.</summary>
    public static ScoreText Accuracy { get; } = new("top-1 accuracy %");

    private bool Percent { get; } = scoreName.Contains('%', StringComparison.Ordinal);

    /// <summary>A score: "93.8%" or "0.99912".</summary>
    public string Value(double value) => Percent ? Number(value, "F1") + "%" : Number(value, "F5");

    /// <summary>A difference of scores, signed: "−0.4 pt" or "−0.00031".</summary>
    public string Difference(double value) => (value < 0 ? "−" : value > 0 ? "+" : "±") + Amount(value);

    /// <summary>The size of a difference, unsigned: "0.4 pt" or "0.00031".</summary>
    public string Amount(double value) => Percent ? Number(Math.Abs(value), "F1") + " pt" : Number(Math.Abs(value), "F5");

    private static string Number(double value, string format) =>
        double.IsPositiveInfinity(value) ? "∞" : double.IsNegativeInfinity(value) ? "−∞" : value.ToString(format, Inv);
}
