using FluentAssertions;
using Quant.Net.Cli;
using Spectre.Console;

namespace Quant.Net.Onnx.Tests.Cli;

public sealed class DemoCommandTests
{
    [Fact]
    public void The_built_in_demo_compares_every_scheme_against_fp32()
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
        });
        console.Profile.Width = 120;

        DemoCommand.Run(console).Should().Be(0);

        string output = writer.ToString();
        foreach (string row in new[] { "FP32 baseline", "int16 per-tensor", "int8 per-tensor", "int8 per-channel", "int4 per-channel", "int4 block-32", "uint8 asym", "uint16 asym" })
            output.Should().Contain(row);
        double perTensor = Sqnr(output, "int8 per-tensor"), perChannel = Sqnr(output, "int8 per-channel");
        perChannel.Should().BeGreaterThan(perTensor + 6, "rows with very different ranges need their own scales");
        Sqnr(output, "int16 per-tensor").Should().BeGreaterThan(perChannel);
    }

    private static double Sqnr(string output, string scheme)
    {
        string line = output.Split('\n').Single(l => l.Contains(scheme, StringComparison.Ordinal));
        string[] cells = line.Split('│', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return double.Parse(cells[4], System.Globalization.CultureInfo.InvariantCulture);
    }
}
