using System.Text;
using Quant.Net.Cli;
using Spectre.Console;

namespace Quant.Net.Onnx.Tests.Support;

/// <summary>Runs the `quant` command in process on a plain-text console and returns its exit code and output.</summary>
internal static class CliRunner
{
    public static (int Code, string Output) Run(params string[] args)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 200;
        int code = Program.Run(console, args);
        return (code, writer.ToString());
    }

    /// <summary>Runs the command with standard output and standard error on a terminal <paramref name="width"/> columns wide (plain text, not interactive).</summary>
    public static (int Code, string Stdout, string Stderr) RunOnTerminal(int width, params string[] args)
    {
        var (output, errors) = (new StringWriter(), new StringWriter());
        int code = Program.Run(Terminal(output, width), args, Terminal(errors, width));
        return (code, output.ToString(), errors.ToString());
    }

    /// <summary>A console writing to <paramref name="writer"/> that says it is a terminal of <paramref name="width"/> columns.</summary>
    public static IAnsiConsole Terminal(StringWriter writer, int width) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new TerminalOutput(writer, width),
        Ansi = AnsiSupport.No,
        ColorSystem = ColorSystemSupport.NoColors,
        Interactive = InteractionSupport.No,
    });

    private sealed class TerminalOutput(StringWriter writer, int width) : IAnsiConsoleOutput
    {
        public TextWriter Writer => writer;

        public bool IsTerminal => true;

        public int Width => width;

        public int Height => 50;

        public void SetEncoding(Encoding encoding)
        {
        }
    }
}
