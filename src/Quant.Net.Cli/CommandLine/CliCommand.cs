using System.Text;
using Spectre.Console;

namespace Quant.Net.Cli;

/// <summary>A command's name, usage lines, notes and option table; renders its own <c>--help</c> from the table.</summary>
/// <param name="Name">The command (<c>quantize</c>).</param>
/// <param name="Title">One line saying what it does.</param>
/// <param name="Usage">Usage lines, each "command line" or "command line|what it does".</param>
/// <param name="Options">Its options, in help order.</param>
/// <param name="Notes">Paragraphs printed between usage and options.</param>
internal sealed record CliCommand(string Name, string Title, IReadOnlyList<string> Usage, IReadOnlyList<CliOption> Options, string? Notes = null)
{
    private const int Column = 27, Width = 80;   // the console soft-wraps at 80 columns when output is piped

    public CliOption? Find(string argument) => Options.FirstOrDefault(o => o.Name == argument || o.Alias == argument);

    /// <summary>Parses <paramref name="args"/>; false (after printing the help) when they ask for help.</summary>
    public bool TryParse(IAnsiConsole console, IReadOnlyList<string> args, out CommandLine line)
    {
        line = CommandLine.Parse(this, args);
        if (line.Help)
        {
            console.WriteLine(HelpText());
        }

        return !line.Help;
    }

    public string HelpText()
    {
        var text = new StringBuilder();
        Wrap(text, $"quant {Name} — {Title}", 2, Width - 2);
        text.AppendLine().AppendLine("Usage:");
        foreach (var line in Usage)
        {
            var parts = line.Split('|', 2);
            Entry(text, "  " + parts[0], parts.Length > 1 ? parts[1] : "");
        }

        if (Notes is not null)
        {
            text.AppendLine();
            foreach (var paragraph in Notes.Split("\n\n"))
            {
                Wrap(text, paragraph.ReplaceLineEndings(" "), 0, Width);
                text.AppendLine();
            }
        }
        else
        {
            text.AppendLine();
        }

        text.AppendLine("Options:");
        foreach (var o in Options)
        {
            string head = $"  {(o.Alias is null ? "" : o.Alias + ", ")}{o.Name}{(o.IsFlag ? "" : " " + o.Value)}";
            string help = o.Help + (o.Choices is { } c ? $": {string.Join(" | ", c)}" : "") + (o.Default is { } d ? $" (default {d})" : "");
            Entry(text, head, help);
        }

        Entry(text, "  -h, --help", "show this help");
        text.AppendLine().Append("Exit codes: 0 success, 1 bad input (one-line error), 2 bad usage.");
        return text.ToString();
    }

    private static void Entry(StringBuilder text, string head, string help)
    {
        if (help.Length == 0)
        {
            text.AppendLine(head);
            return;
        }

        text.Append(head);
        if (head.Length + 1 > Column)
        {
            text.AppendLine().Append(' ', Column);
        }
        else
        {
            text.Append(' ', Column - head.Length);
        }

        Wrap(text, help, Column, Width - Column);
    }

    /// <summary>Appends <paramref name="words"/> in lines of at most <paramref name="width"/> characters, continuation lines indented.</summary>
    private static void Wrap(StringBuilder text, string words, int indent, int width)
    {
        int used = 0;
        foreach (var word in words.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (used > 0 && used + 1 + word.Length > width)
            {
                text.AppendLine().Append(' ', indent);
                used = 0;
            }

            if (used > 0)
            {
                text.Append(' ');
                used++;
            }

            text.Append(word);
            used += word.Length;
        }

        text.AppendLine();
    }
}
