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
}
