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

    /// <summary>Parses <paramref name="args"/> against the command's option table; values outside an option's choices are usage errors listing them.</summary>
    public static CommandLine Parse(CliCommand command, IReadOnlyList<string> args)
    {
        var line = new CommandLine(command.Name);
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a is "--help" or "-h")
            {
                line._flags.Add("--help");
            }
            else if (command.Find(a) is { } option)
            {
                if (option.IsFlag)
                {
                    line._flags.Add(option.Name);
                    continue;
                }

                string value = i + 1 < args.Count ? args[++i] : throw new UsageException($"{option.Name} needs a value.");
                if (option.Choices is { } choices && !choices.Contains(value))
                {
                    throw new UsageException($"{option.Name} must be one of {string.Join(", ", choices)}, not '{value}'.");
                }

                line._values[option.Name] = value;
            }
            else if (a.StartsWith('-'))
            {
                throw new UsageException($"unknown option '{a}'. Run 'quant {command.Name} --help'.");
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

    /// <summary>The value <paramref name="table"/> gives the option's name, or null when the option is not given.</summary>
    public T? Choice<T>(CliChoices<T> table) where T : struct => Value(table.Option) is { } name ? table.Parse(name) : null;

    /// <summary>The deployment target named by --target (checked against the names at parse time), or null when it is not given.</summary>
    public DeploymentTarget? Target() => Choice(CliOptions.Targets);

    /// <summary>
    /// The config from --config, with --weights / --activations / --per-tensor (which also drops a block size) / --weight-symmetry /
    /// --target / --qdq-domain / --all-ops / --full-integer / --smoothquant applied over it.
    /// </summary>
    public QuantizationConfig Config() => Config(null);

    /// <summary>As <see cref="Config()"/>; an AIMET quantsim config's keys that are not applied are printed to <paramref name="console"/>.</summary>
    public QuantizationConfig Config(Spectre.Console.IAnsiConsole? console)
    {
        // Without --config, --target chooses the starting point (qnn-htp: AIMET's HTP settings); with it, only the target.
        var config = Target() is { } target ? QuantizationConfig.ForTarget(target) : new QuantizationConfig();
        if (Value("--config") is { } path)
        {
            (config, var imported) = QuantizationConfig.LoadWithImport(path);
            if (console is not null && imported is not null)
            {
                Spectre.Console.AnsiConsoleExtensions.MarkupLineInterpolated(console, $"AIMET quantsim config{(imported.HardwareVersion is { } hw ? $" ({hw})" : "")}: {imported.Ignored.Count} key(s) not applied");
                foreach (var line in imported.Ignored)
                {
                    Spectre.Console.AnsiConsoleExtensions.MarkupLineInterpolated(console, $"  {line}");
                }
            }
        }

        config = config with
        {
            Weights = Choice(CliOptions.WeightTypes) ?? config.Weights,
            Activations = Choice(CliOptions.ActivationTypes) ?? config.Activations,
            PerChannelWeights = !Flag("--per-tensor") && config.PerChannelWeights,
            WeightBlockSize = Flag("--per-tensor") ? null : config.WeightBlockSize,
            StrictSymmetricWeights = Choice(CliOptions.WeightSymmetries) ?? config.StrictSymmetricWeights,
            Target = Target() ?? config.Target,
            QdqDomain = Choice(CliOptions.QdqDomains) ?? config.QdqDomain,
            QuantizeAllOperators = Flag("--all-ops") || config.QuantizeAllOperators,
            FullInteger = Flag("--full-integer") || config.FullInteger,
            OutlierSmoothing = Value("--smoothquant") is { } smooth ? smooth != "off" : config.OutlierSmoothing,
            OutlierSmoothingStrength = Value("--smoothquant") is "auto" or "off" or null ? config.OutlierSmoothingStrength
                : Double("--smoothquant", 0, 0) is var alpha && alpha <= 1 ? alpha : throw new UsageException($"--smoothquant takes auto, off or a strength in [0, 1], not '{Value("--smoothquant")}'."),
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
    /// <summary>Says which arithmetic the scores measure (exact int32: what the config's target computes) and this host's.</summary>
    public static void AnnounceScoring(IAnsiConsole console, QuantizationConfig config) =>
        console.MarkupLineInterpolated($"scores use exact int32 accumulation (what target {DeploymentTargets.NameOf(config.Target)} computes); this host's ONNX Runtime: {Int8Host.Description}");

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
