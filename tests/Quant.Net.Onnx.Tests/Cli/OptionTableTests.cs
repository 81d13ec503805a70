using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using FluentAssertions;
using Quant.Net.Cli;
using Quant.Net.Onnx.Tests.Support;
using Quant.Net.Techniques;

namespace Quant.Net.Onnx.Tests.Cli;

/// <summary>
/// One option table per command drives both parsing and --help, so the two cannot drift apart: every option and every
/// accepted value is in the help, on the option's own line; values that select a library setting come from one table
/// (<see cref="CliChoices{T}"/>) that the parser, the help and the command all read, and that table covers every member
/// of the setting's enum unless it says why not.
/// </summary>
public sealed class OptionTableTests
{
    public static TheoryData<string> Commands => new(["quantize", "analyze", "mixed-precision", "bench", "weight-only", "eval-lm"]);

    internal static CliCommand Definition(string command) => command switch
    {
        "quantize" => QuantizeCommand.Definition,
        "analyze" => AnalyzeCommand.Definition,
        "mixed-precision" => MixedPrecisionCommand.Definition,
        "weight-only" => WeightOnlyCommand.Definition,
        "eval-lm" => EvalLmCommand.Definition,
        _ => BenchCommand.Definition,
    };

    /// <summary>The start of an option's help line: "  --name VALUE" or "  -o, --name VALUE".</summary>
    internal static string Head(CliOption o) => $"  {(o.Alias is null ? "" : o.Alias + ", ")}{o.Name}{(o.IsFlag ? "" : " " + o.Value)}";

    [Theory]
    [MemberData(nameof(Commands))]
    public void Help_lists_every_option_and_choice_of_the_table_each_option_on_its_own_line(string command)
    {
        var definition = Definition(command);
        var (code, help) = CliRunner.Run(command, "--help");
        code.Should().Be(0);
        var lines = help.Split('\n');
        foreach (var option in definition.Options)
        {
            int at = lines.ToList().FindIndex(l => l == Head(option) || l.StartsWith(Head(option) + " ", StringComparison.Ordinal));
            at.Should().BeGreaterThanOrEqualTo(0, $"{option.Name} starts a line of its own");
            lines.Count(l => l == Head(option) || l.StartsWith(Head(option) + " ", StringComparison.Ordinal)).Should().Be(1);
            string line = lines[at] == Head(option) ? lines[at + 1] : lines[at];   // a long head has its description below
            foreach (var choice in option.Choices ?? [])
            {
                line.Should().Contain(choice, $"{option.Name} accepts {choice}");
            }
        }

        lines.Should().Contain("Options:");
        lines.Where(l => Regex.IsMatch(l, @"\S {2,}--[a-z]") || Regex.IsMatch(l, @"^\S.*\s--[a-z][a-z-]+ [A-Z]")).Should()
            .BeEmpty("no option is glued after a heading or after another option's text");
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

    /// <summary>
    /// Every option whose values select a library setting reads them from its table: the help lists exactly the table's
    /// names, and the table has every member of the setting's enum (for tuples, of each part's enum) or names it as not
    /// offered — a member added to the library is a decision for the command line, not a silent gap.
    /// </summary>
    [Theory]
    [MemberData(nameof(Commands))]
    public void Enum_valued_options_offer_every_member_from_one_table_and_the_help_lists_them(string command)
    {
        var definition = Definition(command);
        var help = CliRunner.Run(command, "--help").Output.Split('\n');
        foreach (var option in definition.Options.Where(o => o.Table is not null))
        {
            var table = option.Table!;
            table.Option.Should().Be(option.Name);
            option.Choices.Should().Equal(table.Names, "the parser accepts what the table names");
            table.Values.Should().OnlyHaveUniqueItems();
            int at = Array.FindIndex(help, l => l == Head(option) || l.StartsWith(Head(option) + " ", StringComparison.Ordinal));
            string line = help[at] == Head(option) ? help[at + 1] : help[at];
            line.Should().Contain(": " + string.Join(" | ", table.Names), $"{option.Name}'s help lists every value its parser accepts, in one place");
            if (option.Default is { } fallback)
            {
                table.Names.Should().Contain(fallback);
            }

            var offered = table.Values.SelectMany(Parts).ToHashSet();
            foreach (var type in table.Values.SelectMany(Parts).Select(v => v.GetType()).Where(t => t.IsEnum).Distinct())
            {
                foreach (var member in Enum.GetValues(type).Cast<object>())
                {
                    (offered.Contains(member) || table.NotOffered.Contains(member)).Should().BeTrue($"{option.Name} offers {type.Name}.{member} or says it does not");
                }
            }
        }

        static IEnumerable<object> Parts(object value) => value is ITuple tuple ? Enumerable.Range(0, tuple.Length).Select(i => tuple[i]!) : [value];
    }

    [Fact]
    public void Tables_give_the_command_the_value_of_each_name()
    {
        foreach (var name in CliOptions.WeightTypes.Names)
        {
            var line = CommandLine.Parse(QuantizeCommand.Definition, ["--weights", name]);
            CliOptions.WeightTypes.NameOf(line.Config().Weights).Should().Be(name);
        }

        foreach (var name in CliOptions.ActivationTypes.Names)
        {
            CliOptions.ActivationTypes.NameOf(CommandLine.Parse(QuantizeCommand.Definition, ["--activations", name]).Config().Activations).Should().Be(name);
        }

        foreach (var name in QuantizeCommand.Observers.Names)
        {
            QuantizeCommand.Observers.NameOf(CommandLine.Parse(QuantizeCommand.Definition, ["--observer", name]).Choice(QuantizeCommand.Observers)!.Value).Should().Be(name);
        }

        CommandLine.Parse(QuantizeCommand.Definition, ["--weight-symmetry", "non-strict"]).Config().StrictSymmetricWeights.Should().BeFalse();
        CommandLine.Parse(QuantizeCommand.Definition, ["--qdq-domain", "microsoft"]).Config().QdqDomain.Should().Be(QdqDomain.Microsoft);
        CommandLine.Parse(WeightOnlyCommand.Definition, ["--method", "gptq-mse"]).Choice(WeightOnlyCommand.Methods).Should().Be((WeightOnlyMethod.Gptq, Quant.Net.Kernels.BlockRounding.MseSearch));
        CommandLine.Parse(WeightOnlyCommand.Definition, []).Choice(WeightOnlyCommand.Methods).Should().BeNull();
    }

    [Fact]
    public void Mixed_precision_candidates_in_the_help_are_what_the_candidate_parser_accepts()
    {
        bool Parses(string text)
        {
            try
            {
                PrecisionCandidate.Parse(text);
                return true;
            }
            catch (FormatException)
            {
                return false;
            }
        }

        string help = CliRunner.Run("mixed-precision", "--help").Output;
        var line = help.Split('\n').Single(l => l.StartsWith("  --candidates ", StringComparison.Ordinal));
        var listed = Regex.Match(line, @"x in ([\d, ]+) and y in ([\d, ]+)");
        listed.Success.Should().BeTrue(line);
        var weights = listed.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToHashSet();
        var activations = listed.Groups[2].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToHashSet();
        for (int w = 0; w <= 40; w++)
        {
            for (int a = 0; a <= 40; a++)
            {
                Parses($"W{w}A{a}").Should().Be(weights.Contains(w) && activations.Contains(a), $"W{w}A{a} parses exactly when the help lists both widths");
            }
        }

        Parses("FP32").Should().BeTrue();
        line.Should().Contain("FP32");
    }

    [Fact]
    public void Aliases_parse_as_their_option_and_demo_refuses_arguments()
    {
        CommandLine.Parse(QuantizeCommand.Definition, ["-o", "x.onnx"]).Value("--output").Should().Be("x.onnx");
        CliRunner.Run("demo", "--bogus").Code.Should().Be(2);
        CliRunner.Run("demo", "--help").Code.Should().Be(0);
    }
}
