using System.Globalization;
using Quant.Net.Onnx;

namespace Quant.Net.Cli;

/// <summary>How progress reads: "AdaRound 43%: layer 3 of 5 (/conv2/Conv) 15%, 12 s left in it".</summary>
internal static class ProgressText
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The step's fraction done, counting the part of the current layer; null when the total is unknown.</summary>
    public static double? Fraction(QuantizationProgress p) => p.Total is > 0 and int total ? Math.Clamp((p.Done + (p.LayerFraction ?? 0)) / total, 0, 1) : null;

    /// <summary>The report in words; <paramref name="stepPercent"/> false leaves the step's percentage to a bar beside it.</summary>
    public static string Describe(QuantizationProgress p, bool stepPercent = true)
    {
        string text = Fraction(p) is { } f ? stepPercent ? $"{p.Stage} {Percent(f)}" : p.Stage : $"{p.Stage}: {p.Done.ToString(Inv)} done";
        if (p.Layer is { } layer)
        {
            text += $": layer {(p.Done + 1).ToString(Inv)} of {(p.Total ?? 0).ToString(Inv)} ({Clip(layer, 40)})";
            if (p.LayerFraction is { } inside)
            {
                text += " " + Percent(inside) + (p.LayerRemaining is { } l && inside < 1 ? $", {Duration(l)} left in it" : "");
            }
        }
        else if (p.Total is { } total)
        {
            text += $" ({p.Done.ToString(Inv)} of {total.ToString(Inv)})";
        }

        return text;
    }

    /// <summary>"42 s", "3 min 04 s", "2 h 05 min".</summary>
    public static string Duration(TimeSpan t)
    {
        long seconds = (long)Math.Ceiling(Math.Max(0, t.TotalSeconds));
        return seconds < 60 ? $"{seconds} s" : seconds < 3600 ? $"{seconds / 60} min {seconds % 60:D2} s" : $"{seconds / 3600} h {seconds % 3600 / 60:D2} min";
    }

    /// <summary>The time left after <paramref name="elapsed"/> for <paramref name="fraction"/> of the work, at the same pace; null before there is a pace.</summary>
    public static TimeSpan? Left(double fraction, TimeSpan elapsed) =>
        fraction >= 1 ? TimeSpan.Zero : fraction <= 0 || elapsed <= TimeSpan.Zero ? null : TimeSpan.FromSeconds(Math.Min(elapsed.TotalSeconds * (1 - fraction) / fraction, TimeSpan.MaxValue.TotalSeconds / 2));

    public static string Clip(string text, int length) => text.Length <= length ? text : string.Concat(text.AsSpan(0, Math.Max(1, length - 1)), "…");

    private static string Percent(double fraction) => ((int)Math.Floor(fraction * 100)).ToString(Inv) + "%";
}
