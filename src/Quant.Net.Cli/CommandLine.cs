using System.Globalization;
using Quant.Net.Onnx;
using Spectre.Console;

namespace Quant.Net.Cli;

/// <summary>
/// Arguments of one command: options with values (<c>--name value</c>), flags and at most one positional argument
/// (the model). Unknown options are usage errors naming the option.
/// </summary>
internal sealed class CommandLine
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    private CommandLine(string command) => Command = command;

    public string Command { get; }

    public string? Positional { get; private set; }

    public bool Help => _flags.Contains("--help");

    public static CommandLine Parse(string command, IReadOnlyList<string> args, string[] valueOptions, string[] flagOptions)
    {
        var line = new CommandLine(command);
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i] == "-h" ? "--help" : args[i];
            if (a == "--help" || flagOptions.Contains(a))
            {
                line._flags.Add(a);
            }
            else if (valueOptions.Contains(a))
            {
                line._values[a] = i + 1 < args.Count ? args[++i] : throw new UsageException($"{a} needs a value.");
            }
            else if (a.StartsWith('-'))
            {
                throw new UsageException($"unknown option '{a}'. Run 'quant {command} --help'.");
            }
            else
            {
                line.Positional = line.Positional is null ? a : throw new UsageException($"unexpected argument '{a}' (the model is '{line.Positional}').");
            }
        }

        return line;
    }

    public string? Value(string option) => _values.GetValueOrDefault(option);

    public bool Flag(string option) => _flags.Contains(option);

    public int Int(string option, int fallback, int min) => Value(option) is not { } v ? fallback
        : int.TryParse(v, NumberStyles.None, Inv, out int x) && x >= min ? x : throw new UsageException($"{option} takes a whole number ≥ {min}, not '{v}'.");

    public double Double(string option, double fallback, double min) => Value(option) is not { } v ? fallback
        : double.TryParse(v, NumberStyles.Float, Inv, out double x) && x >= min && double.IsFinite(x) ? x : throw new UsageException($"{option} takes a number ≥ {min}, not '{v}'.");

    public WeightType? Weights() => Value("--weights") switch
    {
        null => null,
        "int8" => WeightType.Int8, "int4" => WeightType.Int4, "int16" => WeightType.Int16,
        var v => throw new UsageException($"--weights must be int8, int4 or int16, not '{v}'."),
    };

    public ActivationType? Activations() => Value("--activations") switch
    {
        null => null,
        "uint8" => ActivationType.UInt8, "int8" => ActivationType.Int8, "int16" => ActivationType.Int16, "uint16" => ActivationType.UInt16,
        var v => throw new UsageException($"--activations must be uint8, int8, uint16 or int16, not '{v}'."),
    };

    /// <summary>The deployment target named by --target, or null when it is not given.</summary>
    public DeploymentTarget? Target()
    {
        if (Value("--target") is not { } v)
        {
            return null;
        }

        try
        {
            return DeploymentTargets.Parse(v);
        }
        catch (ArgumentException)
        {
            throw new UsageException($"--target must be one of {string.Join(", ", DeploymentTargets.Names)}, not '{v}'.");
        }
    }

    /// <summary>Help lines of --target, shared by every command that quantizes.</summary>
    public const string TargetHelp =
        "\n          --target NAME            integer arithmetic the model will run on: portable (default; exact on every" +
        "\n                                   ONNX Runtime CPU) | x86-avx2 | x86-vnni | arm64\n";

    /// <summary>The config from --config, with --weights / --activations / --per-tensor (which also drops a block size) / --target applied over it.</summary>
    public QuantizationConfig Config()
    {
        var config = Value("--config") is { } path ? QuantizationConfig.Load(path) : new QuantizationConfig();
        config = config with
        {
            Weights = Weights() ?? config.Weights,
            Activations = Activations() ?? config.Activations,
            PerChannelWeights = !Flag("--per-tensor") && config.PerChannelWeights,
            WeightBlockSize = Flag("--per-tensor") ? null : config.WeightBlockSize,
            Target = Target() ?? config.Target,
        };
        return config.Validated();
    }

    /// <summary>Comma-separated numbers of <paramref name="option"/>, or null when it is not given.</summary>
    public float[]? Floats(string option)
    {
        if (Value(option) is not { } value)
        {
            return null;
        }

        var parts = value.Split(',', StringSplitOptions.TrimEntries);
        var result = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!float.TryParse(parts[i], NumberStyles.Float, Inv, out result[i]))
            {
                throw new UsageException($"{option} takes comma-separated numbers, not '{value}'.");
            }
        }

        return result;
    }
}

/// <summary>
/// The model, calibration data and score a command works on: the built-in Fashion-MNIST CNN (top-1 accuracy on its
/// 500 test images) when no model is given, else the model with --calibration and optional --eval folders (cosine
/// similarity to FP32 on the evaluation samples).
/// </summary>
internal sealed record Workload(string Title, OnnxModel Model, ICalibrationDataSource Calibration, ICalibrationDataSource Evaluation, ModelScore Score, bool IsDefault)
{
    public const string Options = """
          --calibration DIR        .npy files or images (see 'quant quantize --help'); required with a model
          --eval DIR               held-out samples for the score (default: the calibration samples)
          --eval-samples N         use at most N evaluation samples (default 64)
          --mean a,b,c / --std a,b,c   image normalization after scaling to [0, 1]
        """;

    public static readonly string[] ValueOptions = ["--calibration", "--eval", "--eval-samples", "--mean", "--std"];

    public static Workload From(CommandLine line)
    {
        if (line.Positional is null)
        {
            var model = DefaultModel.Load();
            var (images, labels) = DefaultModel.TestSet();
            return new Workload("the built-in Fashion-MNIST CNN (256 calibration, 500 test images)", model,
                InMemoryCalibrationData.ForSingleInput(DefaultModel.InputName, DefaultModel.CalibrationImages()),
                InMemoryCalibrationData.ForSingleInput(DefaultModel.InputName, images),
                ModelScore.Top1Accuracy(images, [.. labels.Select(l => (int)l)]), true);
        }

        string calibration = line.Value("--calibration") ?? throw new UsageException("--calibration DIR is required when a model is given.");
        var loaded = OnnxModel.Load(line.Positional);
        float[]? mean = line.Floats("--mean"), std = line.Floats("--std");
        var calibrationData = FolderCalibrationData.Open(calibration, loaded, mean: mean, std: std);
        var evalSource = line.Value("--eval") is { } eval ? FolderCalibrationData.Open(eval, loaded, mean: mean, std: std) : calibrationData;
        var evaluation = new InMemoryCalibrationData(evalSource.GetSamples().Take(line.Int("--eval-samples", 64, 1)));
        return new Workload($"{Path.GetFileName(line.Positional)} ({loaded.Nodes.Count} nodes, {calibrationData.Count} calibration samples)", loaded, calibrationData, evaluation,
            ModelScore.CosineToFp32(loaded, evaluation), false);
    }
}

/// <summary>Spectre.Console progress bars fed by <see cref="QuantizationProgress"/> reports.</summary>
internal static class ProgressBars
{
    public static T Run<T>(IAnsiConsole console, string what, Func<IProgress<QuantizationProgress>, T> work)
    {
        T result = default!;
        console.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(what, maxValue: 1);
                result = work(new Reporter(task));
                task.Value = task.MaxValue;
            });
        return result;
    }

    private sealed class Reporter(ProgressTask task) : IProgress<QuantizationProgress>
    {
        public void Report(QuantizationProgress value)
        {
            task.Description = value.Stage;
            task.MaxValue = Math.Max(1, value.Total ?? value.Done + 1);
            task.Value = value.Done;
        }
    }
}
