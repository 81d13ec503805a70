using System.Globalization;
using Quant.Net.Onnx;
using Spectre.Console;

namespace Quant.Net.Cli;

/// <summary><c>quant eval-lm</c>: next-token perplexity of a causal language model, and of a second one to compare.</summary>
internal static class EvalLmCommand
{
    public static readonly CliCommand Definition = new("eval-lm", "next-token perplexity of an ONNX causal language model in ONNX Runtime",
        [
            "quant eval-lm MODEL.onnx --windows DIR",
            "quant eval-lm MODEL.onnx --windows DIR --compare OTHER.onnx|both models and the relative increase",
        ],
        [
            new("--windows", "DIR", "token windows: .npy int64 files of shape [1, T+1] or [T+1] (T ids fed, each next one scored)"),
            new("--compare", "OTHER.onnx", "a second model (for example the quantized one) evaluated on the same windows"),
        ],
        "The model takes input_ids int64 [1, T] (attention_mask and position_ids inputs are filled in) and returns logits [1, T, V]. "
        + "One line 'perplexity <value>' per model, in the order given.");

    public static int Run(IAnsiConsole console, IReadOnlyList<string> args)
    {
        if (!Definition.TryParse(console, args, out var line))
        {
            return 0;
        }

        if (line.Positional is not { } path)
        {
            throw new UsageException("give the model: quant eval-lm MODEL.onnx --windows DIR");
        }

        var windows = ReadWindows(line.Value("--windows") ?? throw new UsageException("give the token windows: --windows DIR"));
        var models = new List<(string Name, OnnxModel Model)> { (path, OnnxModel.Load(path)) };
        if (line.Value("--compare") is { } other)
        {
            models.Add((other, OnnxModel.Load(other)));
        }

        var inv = CultureInfo.InvariantCulture;
        var results = new List<PerplexityResult>();
        foreach (var (name, model) in models)
        {
            var result = ProgressBars.Run(console, $"evaluating {Path.GetFileName(name)}", p => LanguageModelEvaluator.Perplexity(model, windows, p));
            results.Add(result);
            console.MarkupLineInterpolated($"{Path.GetFileName(name)}: {result.Windows} windows, {result.Tokens} tokens scored, mean NLL {result.MeanNegativeLogLikelihood.ToString("F4", inv)} nats");
            console.WriteLine($"perplexity {result.Perplexity.ToString("F4", inv)}");
        }

        if (results.Count == 2)
        {
            console.WriteLine($"relative increase {((results[1].Perplexity / results[0].Perplexity) - 1).ToString("+0.00%;-0.00%", inv)}");
        }

        return 0;
    }

    /// <summary>The .npy windows of a folder in name order, each flattened to its T + 1 ids.</summary>
    internal static List<long[]> ReadWindows(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"Windows folder '{folder}' does not exist.");
        }

        var files = Directory.GetFiles(folder, "*.npy").Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
        {
            throw new InvalidDataException($"Windows folder '{folder}' holds no .npy files.");
        }

        var windows = new List<long[]>();
        foreach (var file in files)
        {
            var tensor = NpyFile.Read(file);
            if (tensor.Data is not long[] ids || tensor.Shape.Count is not (1 or 2) || (tensor.Shape.Count == 2 && tensor.Shape[0] != 1))
            {
                throw new InvalidDataException($"Window '{Path.GetFileName(file)}' must be int64 of shape [1, T+1] or [T+1]; it is {tensor.Data.GetType().GetElementType()?.Name} [{string.Join(", ", tensor.Shape)}].");
            }

            windows.Add(ids);
        }

        return windows;
    }
}
