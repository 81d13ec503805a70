using Quant.Net.Onnx;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Quant.Net.Cli;

/// <summary>
/// The library's <see cref="QuantizationProgress"/> on the console: on a terminal one live line (bar, percentage, time
/// left) rewritten in place, naming the layer a per-layer step is in with its own fraction and time left; piped or
/// redirected, a plain line now and then (<see cref="ProgressLines"/>) — never one per report.
/// </summary>
internal static class ProgressBars
{
    public static T Run<T>(IAnsiConsole console, string what, Func<IProgress<QuantizationProgress>, T> work)
    {
        if (!(console.Profile.Capabilities.Interactive && console.Profile.Capabilities.Ansi))
        {
            return work(new ProgressLines(console));
        }

        T result = default!;
        console.Progress().AutoClear(true).ExcludeVerticalPadding(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = BarWidth }, new PercentageColumn(), new TimeLeftColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(what, maxValue: 1);
                result = work(new Reporter(task, console));
                task.Value = task.MaxValue;
            });
        return result;
    }

    private const int BarWidth = 20;

    /// <summary>Columns the bar, the percentage and the time left take, with the spaces between columns.</summary>
    private const int Beside = BarWidth + 5 + 18 + 3;

    private sealed class Reporter(ProgressTask task, IAnsiConsole console) : IProgress<QuantizationProgress>
    {
        public void Report(QuantizationProgress value)
        {
            // One line: the description gets what the bar, percentage and time left leave of the width.
            task.Description = Markup.Escape(ProgressText.Clip(ProgressText.Describe(value, stepPercent: false), Math.Max(20, console.Profile.Width - Beside)));
            task.MaxValue = Math.Max(1, value.Total ?? value.Done + 1);
            task.Value = Math.Min(task.MaxValue, value.Done + (value.LayerFraction ?? 0));
            task.State.Update<double>(TimeLeftColumn.Key, _ => value.Remaining?.TotalSeconds ?? -1);
        }
    }

    /// <summary>The step's time left as the library estimates it (it knows the layers still to do), else as Spectre does from the pace.</summary>
    private sealed class TimeLeftColumn : ProgressColumn
    {
        public const string Key = "remaining";

        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            double seconds = task.State.Get<double>(Key);
            TimeSpan? left = task.IsFinished ? TimeSpan.Zero : seconds > 0 ? TimeSpan.FromSeconds(seconds) : task.RemainingTime;
            return new Text(left is { } t ? ProgressText.Duration(t) + " left" : "", new Style(Color.Blue));
        }
    }
}
