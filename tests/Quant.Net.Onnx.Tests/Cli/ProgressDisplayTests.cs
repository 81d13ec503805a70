using FluentAssertions;
using Quant.Net.Cli;
using Spectre.Console;

namespace Quant.Net.Onnx.Tests.Cli;

/// <summary>
/// How the tool shows the library's progress: piped, a plain line when a stage starts, at each further tenth and after
/// 30 s of silence — never one per report; on a terminal, one live line naming the layer and its time left. A clock
/// moved by the test stands in for time.
/// </summary>
public sealed class ProgressDisplayTests
{
    [Fact]
    public void Piped_progress_is_a_line_per_tenth_of_a_step_not_per_report()
    {
        var (console, output) = Plain();
        var clock = new ManualClock();
        var lines = new ProgressLines(console, clock);
        const int layers = 4, reportsPerLayer = 2500;
        for (int layer = 0; layer < layers; layer++)
        {
            for (int i = 0; i <= reportsPerLayer; i++)
            {
                clock.Advance(TimeSpan.FromMilliseconds(2));
                lines.Report(new QuantizationProgress("AdaRound", layer, layers)
                {
                    Layer = $"layer{layer}",
                    LayerFraction = (double)i / reportsPerLayer,
                    LayerRemaining = i == 0 ? null : TimeSpan.FromMilliseconds(2 * (reportsPerLayer - i)),
                });
            }

            lines.Report(new QuantizationProgress("AdaRound", layer + 1, layers));
        }

        var printed = output.ToString().TrimEnd('\n').Split('\n');
        printed.Length.Should().BeInRange(10, 11, "the start and one line per tenth, from 10,000 reports");
        printed[0].Should().Be("AdaRound 0%: layer 1 of 4 (layer0) 0%");
        printed.Should().Contain(l => l.StartsWith("AdaRound 10%: layer 1 of 4 (layer0) 40%", StringComparison.Ordinal) && l.Contains(" s left in it, about ", StringComparison.Ordinal));
        printed[^1].Should().StartWith("AdaRound 100%");
    }

    [Fact]
    public void A_long_layer_without_visible_progress_still_prints_every_30_seconds()
    {
        var (console, output) = Plain();
        var clock = new ManualClock();
        var lines = new ProgressLines(console, clock);
        for (int second = 0; second <= 100; second++)
        {
            lines.Report(new QuantizationProgress("weight-only", 0, 2) { Layer = "big", LayerFraction = 0.01 });
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        output.ToString().TrimEnd('\n').Split('\n').Should().HaveCount(4, "at 0, 30, 60 and 90 s");
        lines.Report(new QuantizationProgress("Hessians", 0, null));
        output.ToString().TrimEnd('\n').Split('\n')[^1].Should().Be("Hessians: 0 done", "a new stage prints at once");
    }

    [Fact]
    public void On_an_interactive_terminal_one_live_line_names_the_layer()
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.Yes,
        });
        console.Profile.Width = 160;
        int result = ProgressBars.Run(console, "quantizing", p =>
        {
            p.Report(new QuantizationProgress("GPTQ", 0, 2) { Layer = "/model/layers.0/mlp/down_proj/MatMul", LayerFraction = 0.5, LayerRemaining = TimeSpan.FromSeconds(90), Remaining = TimeSpan.FromMinutes(5) });
            return 7;
        });

        result.Should().Be(7);
        string drawn = writer.ToString();
        drawn.Should().Contain("GPTQ: layer 1 of 2 (/model/layers.0/mlp/down_proj/MatMul) 50%, 1 min 30 s left in it");   // at least the last drawing has it
        drawn.Split('\n').Where(l => l.Contains("GPTQ", StringComparison.Ordinal)).Should().OnlyContain(l => l.Contains("25%", StringComparison.Ordinal) || l.Contains("100%", StringComparison.Ordinal),
            "the description, bar, percentage and time left share one line");
    }

    private static (IAnsiConsole Console, StringWriter Output) Plain()
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No });
        console.Profile.Width = 80;
        return (console, writer);
    }

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
