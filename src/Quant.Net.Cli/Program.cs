using Spectre.Console;

namespace Quant.Net.Cli;

internal static class Program
{
    private const string Usage = """
        quant — neural-network quantization for .NET

        Usage:
          quant [demo]      Quantize a built-in weight matrix and activation tensor under the common schemes
                            and compare each against FP32 (size, SQNR, max error).
          quant --help      Show this help.
        """;

    public static int Main(string[] args)
    {
        var console = AnsiConsole.Console;
        try
        {
            string command = args.Length == 0 ? "demo" : args[0];
            switch (command)
            {
                case "demo":
                    return DemoCommand.Run(console);
                case "--help" or "-h" or "help":
                    console.WriteLine(Usage);
                    return 0;
                default:
                    console.MarkupLineInterpolated($"[red]error:[/] unknown command '{command}'. Run 'quant --help'.");
                    return 2;
            }
        }
        catch (Exception e) when (e is ArgumentException or IOException or NotSupportedException)
        {
            console.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 1;
        }
    }
}
