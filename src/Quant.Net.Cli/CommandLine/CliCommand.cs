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
    public CliOption? Find(string argument) => Options.FirstOrDefault(o => o.Name == argument || o.Alias == argument);

    /// <summary>Parses <paramref name="args"/>; false (after printing the help) when they ask for help.</summary>
    public bool TryParse(IAnsiConsole console, IReadOnlyList<string> args, out CommandLine line)
    {
        line = CommandLine.Parse(this, args);
        if (line.Help)
        {
            PrintHelp(console);
        }

        return !line.Help;
    }

    /// <summary>The help, laid out for <paramref name="console"/>: wrapped to its width on a terminal, unwrapped otherwise.</summary>
    public void PrintHelp(IAnsiConsole console) => ConsoleText.Write(console, HelpText(ConsoleText.WrapWidth(console)));

    /// <summary>The help text, wrapped at <paramref name="width"/> columns, or not wrapped when it is null.</summary>
    public string HelpText(int? width)
    {
        var text = new HelpLayout(width).Paragraph($"quant {Name} — {Title}", 2).Line().Line("Usage:");
        foreach (var line in Usage)
        {
            var parts = line.Split('|', 2);
            text.Entry("  " + parts[0], parts.Length > 1 ? parts[1] : "");
        }

        text.Line();
        foreach (var paragraph in Notes?.Split("\n\n") ?? [])
        {
            text.Paragraph(paragraph.ReplaceLineEndings(" ")).Line();
        }

        text.Line("Options:");
        foreach (var o in Options)
        {
            string head = $"  {(o.Alias is null ? "" : o.Alias + ", ")}{o.Name}{(o.IsFlag ? "" : " " + o.Value)}";
            string help = o.Help + (o.Choices is { } c ? $": {string.Join(" | ", c)}" : "") + (o.Default is { } d ? $" (default {d})" : "");
            text.Entry(head, help);
        }

        return text.Entry("  -h, --help", "show this help").Line().Paragraph(Program.ExitCodes).ToString();
    }
}
