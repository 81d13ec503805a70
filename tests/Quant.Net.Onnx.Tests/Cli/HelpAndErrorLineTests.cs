using FluentAssertions;
using Quant.Net.Cli;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Cli;

/// <summary>
/// Lines as a reader gets them: help wrapped to the terminal's width on a terminal and not wrapped at all when piped (so
/// no description breaks at 80 columns mid-sentence), every option on a line of its own, and every error exactly one
/// line on standard error whatever its length. The piped cases run the tool in a child process with its output
/// redirected, as a shell pipe has it; terminal widths come through the console's output, so no real terminal is needed.
/// </summary>
public sealed class HelpAndErrorLineTests
{
    public static TheoryData<string> Commands => OptionTableTests.Commands;

    [Theory]
    [MemberData(nameof(Commands))]
    public void Piped_help_is_not_wrapped_each_option_with_its_whole_description_on_one_line(string command)
    {
        var definition = OptionTableTests.Definition(command);
        var (code, stdout, stderr) = CliProcess.RunSplit(null, command, "--help");
        code.Should().Be(0, stderr);
        stderr.Should().BeEmpty();
        var lines = stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        foreach (var option in definition.Options)
        {
            string description = option.Help + (option.Choices is { } c ? $": {string.Join(" | ", c)}" : "") + (option.Default is { } d ? $" (default {d})" : "");
            string head = OptionTableTests.Head(option);
            string expected = head.Length + 1 > HelpLayout.Column ? head : head.PadRight(HelpLayout.Column) + description;
            lines.Should().Contain(expected, $"{option.Name}'s line is not broken at 80 columns");
            if (head.Length + 1 > HelpLayout.Column)
            {
                lines[lines.IndexOf(expected) + 1].Should().Be(new string(' ', HelpLayout.Column) + description);
            }
        }

        lines.Should().Contain(l => l.StartsWith($"quant {command} — {definition.Title}", StringComparison.Ordinal) && l.EndsWith(definition.Title, StringComparison.Ordinal));
    }

    [Fact]
    public void Piped_top_level_and_demo_help_are_not_wrapped_either()
    {
        var (code, stdout, _) = CliProcess.RunSplit(null, "--help");
        code.Should().Be(0);
        var lines = stdout.Split('\n');
        lines.Should().Contain(l => l.StartsWith("  quant [quantize]", StringComparison.Ordinal) && l.EndsWith("passes them to quantize).", StringComparison.Ordinal));
        foreach (var command in new[] { "analyze", "mixed-precision", "bench", "weight-only", "eval-lm", "demo", "--help" })
        {
            lines.Should().ContainSingle(l => l.StartsWith($"  quant {command} ", StringComparison.Ordinal) && l.TrimEnd().EndsWith('.'), $"'{command}' has its whole line");
        }

        var demo = CliProcess.RunSplit(null, "demo", "--help").Stdout;
        demo.TrimEnd('\n').Should().NotContain("\n", "one line");
    }

    [Theory]
    [InlineData(40)]
    [InlineData(72)]
    [InlineData(100)]
    [InlineData(160)]
    public void On_a_terminal_help_wraps_at_its_width_and_keeps_every_word_and_option_line(int width)
    {
        foreach (string command in OptionTableTests.Commands.Select(c => (string)c.Data))
        {
            var definition = OptionTableTests.Definition(command);
            var (code, wrapped, _) = CliRunner.RunOnTerminal(width, command, "--help");
            code.Should().Be(0);
            var lines = wrapped.TrimEnd('\n').Split('\n');
            lines.Should().OnlyContain(l => l.Length <= width, $"{command} --help fits a terminal of {width} columns");
            foreach (var option in definition.Options)
            {
                lines.Should().ContainSingle(l => l == OptionTableTests.Head(option) || l.StartsWith(OptionTableTests.Head(option) + " ", StringComparison.Ordinal),
                    $"{option.Name} starts its own line at {width} columns");
            }

            string unwrapped = definition.HelpText(null);
            Words(wrapped).Should().Equal(Words(unwrapped), "wrapping moves words, never drops or joins them");
        }

        var top = CliRunner.RunOnTerminal(width, "--help").Stdout;
        top.TrimEnd('\n').Split('\n').Should().OnlyContain(l => l.Length <= width);
        Words(top).Should().Equal(Words(Program.UsageText(null)));

        static string[] Words(string text) => text.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public void A_long_error_is_one_line_on_standard_error_piped_or_on_a_narrow_terminal()
    {
        string model = Path.Combine(Path.GetTempPath(), "no-such-folder-" + new string('m', 600), "model.onnx");
        var piped = CliProcess.RunSplit(null, "quantize", model, "--calibration", "calib", "--output", "out.onnx");
        piped.Code.Should().Be(1);
        piped.Stdout.Should().NotContain("error:");
        OneErrorLine(piped.Stderr).Should().Contain(model, "the whole path, unbroken");

        string option = "--" + new string('x', 300);
        var usage = CliProcess.RunSplit(null, "analyze", option);
        usage.Code.Should().Be(2);
        OneErrorLine(usage.Stderr).Should().Contain(option);

        var narrow = CliRunner.RunOnTerminal(40, "quantize", model, "--calibration", "calib", "--output", "out.onnx");
        narrow.Code.Should().Be(1);
        OneErrorLine(narrow.Stderr).Should().Contain(model, "the console's folding at 40 columns does not touch the error line");
        OneErrorLine(CliRunner.RunOnTerminal(40, "bench", option).Stderr).Should().Contain(option);
    }

    private static string OneErrorLine(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().ContainSingle("an error is exactly one line");
        lines[0].Should().StartWith("error: ");
        return lines[0];
    }
}
