using Spectre.Console;
using Spectre.Console.Rendering;

namespace Quant.Net.Cli;

/// <summary>
/// Text the tool writes whole lines of, bypassing the console's folding at its width: help (already laid out for the
/// terminal, or deliberately unwrapped when piped) and the one-line error of a failure, which stays one line whatever
/// its length.
/// </summary>
internal static class ConsoleText
{
    /// <summary>
    /// The width to lay help out for: the terminal's when <paramref name="console"/> writes to one, else null (piped or
    /// redirected: no wrapping). The console's output decides, so a test passes a terminal of any width.
    /// </summary>
    public static int? WrapWidth(IAnsiConsole console) => console.Profile.Out.IsTerminal ? console.Profile.Width : null;

    /// <summary>Writes <paramref name="text"/> line by line as it is.</summary>
    public static void Write(IAnsiConsole console, string text) => console.Write(new Lines(text, null));

    /// <summary>Writes <c>error: message</c> as exactly one line ("error:" in red where colour is on); line breaks in the message become spaces.</summary>
    public static void Error(IAnsiConsole errors, string message) =>
        errors.Write(new Lines(string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)), "error:"));

    /// <summary>Lines rendered as given, whatever the width (a terminal soft-wraps what is too long; nothing inserts line breaks).</summary>
    private sealed class Lines(string text, string? errorLabel) : IRenderable
    {
        private readonly string[] _lines = text.TrimEnd('\n').Split('\n');

        public Measurement Measure(RenderOptions options, int maxWidth)
        {
            int longest = _lines.Max(l => l.Length) + (errorLabel?.Length + 1 ?? 0);
            return new Measurement(Math.Min(longest, maxWidth), longest);
        }

        public IEnumerable<Segment> Render(RenderOptions options, int maxWidth)
        {
            if (errorLabel is not null)
            {
                yield return new Segment(errorLabel, new Style(Color.Red));
                yield return new Segment(" ");
            }

            foreach (var line in _lines)
            {
                yield return new Segment(line.TrimEnd('\r'));
                yield return Segment.LineBreak;
            }
        }
    }
}
