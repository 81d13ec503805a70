using FluentAssertions;
using Quant.Net.Cli;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Cli;

/// <summary>One option table per command drives both parsing and --help, so the two cannot drift apart.</summary>
public sealed class OptionTableTests
{
    public static TheoryData<string> Commands => new(["quantize", "analyze", "mixed-precision", "bench"]);

    private static CliCommand Definition(string command) => command switch
    {
        "quantize" => QuantizeCommand.Definition,
        "analyze" => AnalyzeCommand.Definition,
        "mixed-precision" => MixedPrecisionCommand.Definition,
        _ => BenchCommand.Definition,
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Help_lists_every_option_and_choice_of_the_table_within_80_columns(string command)
    {
        var definition = Definition(command);
        var (code, help) = CliRunner.Run(command, "--help");
        code.Should().Be(0);
        foreach (var option in definition.Options)
        {
            help.Should().Contain(option.Name);
            foreach (var choice in option.Choices ?? [])
            {
                help.Should().Contain(choice, $"{option.Name} accepts {choice}");
            }
        }

        help.Split('\n').Should().OnlyContain(l => l.TrimEnd().Length <= 80);
        definition.Options.Select(o => o.Name).Should().OnlyHaveUniqueItems();
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_listed_choice_parses_and_anything_else_is_a_usage_error_listing_them(string command)
    {
        var definition = Definition(command);
        foreach (var option in definition.Options.Where(o => o.Choices is not null))
        {
            foreach (var choice in option.Choices!)
            {
                CommandLine.Parse(definition, [option.Name, choice]).Value(option.Name).Should().Be(choice);
            }

            FluentActions.Invoking(() => CommandLine.Parse(definition, [option.Name, "bogus"])).Should().Throw<UsageException>()
                .WithMessage($"{option.Name} must be one of {string.Join(", ", option.Choices!)}, not 'bogus'.");
        }

        foreach (var flag in definition.Options.Where(o => o.IsFlag))
        {
            CommandLine.Parse(definition, [flag.Name]).Flag(flag.Name).Should().BeTrue();
        }

        FluentActions.Invoking(() => CommandLine.Parse(definition, ["--frobnicate"])).Should().Throw<UsageException>().WithMessage("*--frobnicate*");
    }

    [Fact]
    public void Aliases_parse_as_their_option_and_demo_refuses_arguments()
    {
        CommandLine.Parse(QuantizeCommand.Definition, ["-o", "x.onnx"]).Value("--output").Should().Be("x.onnx");
        CliRunner.Run("demo", "--bogus").Code.Should().Be(2);
        CliRunner.Run("demo", "--help").Code.Should().Be(0);
    }
}
