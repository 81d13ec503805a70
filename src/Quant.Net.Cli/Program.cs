using Spectre.Console;

namespace Quant.Net.Cli;

internal static class Program
{
    /// <summary>The exit codes, as every help ends.</summary>
    internal const string ExitCodes = "Exit codes: 0 success, 1 bad input (one-line error), 2 bad usage.";

    /// <summary>The commands and what each does, in help order.</summary>
    private static readonly (string Command, string Help)[] Commands =
    [
        ("quant [quantize]", "Quantize an ONNX model (with no arguments: the built-in Fashion-MNIST CNN) and compare it with FP32. 'quant quantize --help' lists the options ('quant --target x86-vnni' passes them to quantize)."),
        ("quant analyze", "Sensitivity analysis (weights vs activations, per group, per layer, histograms) with an HTML/PNG/JSON report."),
        ("quant mixed-precision", "Choose bit widths per layer (W16A16 ... W4A8, FP32) within an accuracy budget, with the Pareto curve in an HTML/PNG/JSON report."),
        ("quant bench", "FP32 vs quantized latency and size in ONNX Runtime."),
        ("quant weight-only", "Int4/int8 block weight-only quantization of MatMul layers (language models)."),
        ("quant eval-lm", "Next-token perplexity of a causal language model (and of a second one to compare)."),
        ("quant demo", "Quantize a built-in weight matrix and activation tensor under the common schemes and compare each against FP32 (size, SQNR, max error)."),
        ("quant schema", "Print the JSON schema of --config files ('quant schema > quantization-config.schema.json' for an editor to check them)."),
        ("quant --help", "Show this help."),
    ];

    private const string DemoTitle = "quant demo — quantize a built-in weight matrix and activation tensor under the common schemes and compare each against FP32 (no options)";

    /// <summary>The tool's help, wrapped at <paramref name="width"/> columns, or not wrapped when it is null.</summary>
    internal static string UsageText(int? width)
    {
        var text = new HelpLayout(width).Paragraph("quant — neural-network quantization for .NET", 2).Line().Line("Usage:");
        foreach (var (command, help) in Commands)
        {
            text.Entry("  " + command, help);
        }

        return text.Line()
            .Paragraph("Every command but weight-only and eval-lm runs on the built-in Fashion-MNIST CNN when no model is given; 'quant COMMAND --help' lists its options.")
            .Line().Paragraph(ExitCodes).ToString();
    }

    public static int Main(string[] args)
    {
        DisableOrtTelemetry();
        var output = AnsiConsole.Console;
        var errors = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        foreach (var (console, redirected) in new[] { (output, Console.IsOutputRedirected), (errors, Console.IsErrorRedirected) })
        {
            if (redirected)
            {
                // Piped or redirected: tables and messages are not folded at the default 80 columns. (Help and errors
                // bypass folding altogether: see ConsoleText.)
                console.Profile.Width = 4096;
            }
        }

        return Run(output, args, errors);
    }

    /// <summary>
    /// A batch tool sends no usage telemetry: ONNX Runtime's events are switched off before the first session. (ONNX
    /// Runtime 1.31 still logs one process-information event and writes a device id under ~/.cache/Microsoft while its
    /// environment starts, before any API can switch it off; it skips both when the CI variable is set.)
    /// </summary>
    private static void DisableOrtTelemetry() => Microsoft.ML.OnnxRuntime.OrtEnv.Instance().DisableTelemetryEvents();

    /// <summary>Runs a command; results go to <paramref name="console"/>, the one-line error of a failure to <paramref name="errors"/> (standard error; by default the same console).</summary>
    internal static int Run(IAnsiConsole console, string[] args, IAnsiConsole? errors = null)
    {
        errors ??= console;
        try
        {
            // 'quant --target x86-avx2' (options without a command) is 'quant quantize --target x86-avx2'.
            string command = args.Length == 0 || (args[0].StartsWith("--", StringComparison.Ordinal) && args[0] != "--help") ? "quantize" : args[0];
            switch (command)
            {
                case "quantize":
                    return QuantizeCommand.Run(console, args.Length > 0 && args[0] == "quantize" ? args.Skip(1).ToList() : args);
                case "analyze":
                    return AnalyzeCommand.Run(console, args.Skip(1).ToList());
                case "mixed-precision":
                    return MixedPrecisionCommand.Run(console, args.Skip(1).ToList());
                case "bench":
                    return BenchCommand.Run(console, args.Skip(1).ToList());
                case "weight-only":
                    return WeightOnlyCommand.Run(console, args.Skip(1).ToList());
                case "eval-lm":
                    return EvalLmCommand.Run(console, args.Skip(1).ToList());
                case "demo" when args.Length > 1 && args[1] is "--help" or "-h":
                    ConsoleText.Write(console, new HelpLayout(ConsoleText.WrapWidth(console)).Paragraph(DemoTitle, 2).ToString());
                    return 0;
                case "demo" when args.Length > 1:
                    throw new UsageException($"'quant demo' takes no arguments (got '{args[1]}').");
                case "demo":
                    return DemoCommand.Run(console);
                case "schema" when args.Length > 1 && args[1] is "--help" or "-h":
                    console.WriteLine("quant schema — print the JSON schema of config files (--config), the same as quantization-config.schema.json in the Quant.Net.Onnx package (no options)");
                    return 0;
                case "schema" when args.Length > 1:
                    throw new UsageException($"'quant schema' takes no arguments (got '{args[1]}').");
                case "schema":
                    // Written as is: the console would wrap lines longer than its width, inside JSON strings.
                    console.Profile.Out.Writer.Write(Quant.Net.Onnx.QuantizationConfig.JsonSchema);
                    return 0;
                case "--help" or "-h" or "help":   // 'quant help' too
                    ConsoleText.Write(console, UsageText(ConsoleText.WrapWidth(console)));
                    return 0;
                default:
                    throw new UsageException($"unknown command '{command}'. Run 'quant --help'.");
            }
        }
        catch (UsageException e)
        {
            ConsoleText.Error(errors, e.Message);
            return 2;
        }
        catch (Exception e) when (e is ArgumentException or IOException or NotSupportedException or FormatException or InvalidOperationException or UnauthorizedAccessException or InvalidDataException)
        {
            ConsoleText.Error(errors, Describe(e));
            return 1;
        }
    }

    /// <summary>
    /// The message without what .NET appends for programmers: an argument exception's "(Parameter 'name')" and an
    /// out-of-range exception's "Actual value was …" (the message itself names the option, file, node or tensor).
    /// </summary>
    private static string Describe(Exception e)
    {
        string message = e.Message;
        if (e is ArgumentException { ParamName: { } name })
        {
            message = message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal);
        }

        if (e is ArgumentOutOfRangeException { ActualValue: { } value })
        {
            message = message.Replace($"Actual value was {value}.", "", StringComparison.Ordinal);
        }

        return message;
    }
}
