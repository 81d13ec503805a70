using System.Text;

namespace Quant.Net.Cli;

/// <summary>
/// Help text laid out for a width: entries ("head   what it does") with their descriptions in a column, paragraphs, and
/// lines wrapped at word boundaries to the terminal's width — or not wrapped at all when <c>width</c> is null (output
/// piped or redirected: whatever reads it wraps, or does not, as it likes). Every entry starts a line of its own.
/// </summary>
/// <param name="width">Columns to wrap at, or null for no wrapping.</param>
internal sealed class HelpLayout(int? width)
{
    /// <summary>Where descriptions start on a terminal of at least <see cref="NarrowBelow"/> columns (and always when not wrapping).</summary>
    public const int Column = 27;

    /// <summary>Below this width descriptions go under their heads, indented by <see cref="NarrowColumn"/>.</summary>
    public const int NarrowBelow = 60;

    private const int NarrowColumn = 6;

    private readonly StringBuilder _text = new();

    /// <summary>The width wrapped at, or null.</summary>
    public int? Width { get; } = width is { } w ? Math.Max(w, 20) : null;

    private int DescriptionColumn => Width < NarrowBelow ? NarrowColumn : Column;

    /// <summary>A line as given (usage lines, blank lines).</summary>
    public HelpLayout Line(string text = "")
    {
        _text.Append(text).Append('\n');
        return this;
    }

    /// <summary>Words wrapped to the width, continuation lines indented by <paramref name="hangingIndent"/>.</summary>
    public HelpLayout Paragraph(string words, int hangingIndent = 0)
    {
        Wrap(words, 0, hangingIndent);
        return this;
    }

    /// <summary>An entry: <paramref name="head"/> (already indented) and its description in the column, on a line of its own.</summary>
    public HelpLayout Entry(string head, string help)
    {
        int column = DescriptionColumn;
        if (Width is { } width && head.Length > width)
        {
            // A usage line wider than the terminal: its words wrap, hanging, and the description starts below.
            int lead = head.Length - head.TrimStart().Length;
            _text.Append(' ', lead);
            Wrap(head.TrimStart(), lead, lead + 4);
            if (help.Length > 0)
            {
                _text.Append(' ', column);
                Wrap(help, column, column);
            }

            return this;
        }

        if (help.Length == 0)
        {
            return Line(head);
        }

        _text.Append(head);
        if (head.Length + 1 > column)
        {
            _text.Append('\n').Append(' ', column);
        }
        else
        {
            _text.Append(' ', column - head.Length);
        }

        Wrap(help, column, column);
        return this;
    }

    /// <summary>The text, each line ended by '\n' (the last one too).</summary>
    public override string ToString() => _text.ToString();

    /// <summary>Appends <paramref name="words"/> starting at column <paramref name="at"/>, wrapping to the width with continuation lines indented by <paramref name="indent"/>.</summary>
    private void Wrap(string words, int at, int indent)
    {
        int used = at;
        bool first = true;
        foreach (var word in words.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!first && Width is { } width && used + 1 + word.Length > width)
            {
                _text.Append('\n').Append(' ', indent);
                used = indent;
                first = true;
            }

            if (!first)
            {
                _text.Append(' ');
                used++;
            }

            _text.Append(word);
            used += word.Length;
            first = false;
        }

        _text.Append('\n');
    }
}
