using System.Globalization;
using Quant.Net.Onnx;

namespace Quant.Net.Cli;

/// <summary>Scores as people read them: accuracies in percent with one decimal ("93.8%", drops in points), similarities with five decimals.</summary>
internal sealed class ScoreText(ModelScore score)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private bool Percent { get; } = score.IsAccuracy;

    /// <summary>A score: "93.8%" or "0.99912".</summary>
    public string Value(double value) => Percent ? (100 * value).ToString("F1", Inv) + "%" : value.ToString("F5", Inv);

    /// <summary>A difference of scores, signed: "−0.4 pt" or "−0.00031".</summary>
    public string Difference(double value)
    {
        string text = Percent ? Math.Abs(100 * value).ToString("F1", Inv) + " pt" : Math.Abs(value).ToString("F5", Inv);
        return (value < 0 ? "−" : value > 0 ? "+" : "±") + text;
    }
}
