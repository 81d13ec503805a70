using System.Globalization;
using Quant.Net.Onnx;
using Quant.Net.Reports;
using Spectre.Console;

namespace Quant.Net.Cli;

/// <summary><c>quant quantize</c>: post-training quantization of an ONNX model (or of the built-in default).</summary>
internal static class QuantizeCommand
{
    public static readonly CliChoices<ObserverKind> Observers = new("--observer",
        ("minmax", ObserverKind.MinMax), ("mse", ObserverKind.Mse), ("entropy", ObserverKind.Entropy), ("percentile", ObserverKind.Percentile),
        ("sqnr", ObserverKind.Sqnr), ("moving-average", ObserverKind.MovingAverage));

    public static readonly CliChoices<AimetEncodingsVersion> EncodingsVersions = new("--encodings-version",
        ("1.0.0", AimetEncodingsVersion.Version100), ("0.6.1", AimetEncodingsVersion.Version061), ("2.0.0", AimetEncodingsVersion.Version200));

    public static readonly CliCommand Definition = new("quantize", "post-training quantization of an FP32 ONNX model to a QDQ int8/int16 model",
        [
            "quant quantize|quantize the built-in Fashion-MNIST CNN and compare it with FP32 (accuracy on 500 shipped test images, size, latency, SQNR)",
            "quant quantize MODEL.onnx --calibration DIR --output OUT.onnx [options]",
        ],
        [
            CliOptions.Calibration,
            new("--output", "OUT.onnx", "where to write the quantized model (written atomically)", Alias: "-o"),
            CliOptions.Weights,
            CliOptions.Activations,
            CliOptions.PerTensor,
            CliOptions.WeightSymmetry,
            CliOptions.Target,
            CliOptions.QdqDomain,
            CliOptions.AllOperators,
            CliOptions.FullInteger,
            CliOptions.OutlierSmoothing,
            Observers.ToOption("NAME", "how activation ranges are chosen", new QuantizationConfig().Observer),
            new("--encodings", "FILE.json", "also write AIMET encodings"),
            EncodingsVersions.ToOption("V", "AIMET encodings format", AimetEncodingsVersion.Version100),
            new("--aimet-model", "FP32.onnx", "also write the FP32 model the encodings belong to, with the final weights (BatchNorm folded, AdaRounded, bias-corrected): AIMET's sim.export pair for qnn-onnx-converter --quantization_overrides; needs --encodings"),
            CliOptions.Config,
            new("--dynamic", null, "dynamic quantization of MatMul/Gemm/LSTM weights (no calibration needed)"),
            CliOptions.Mean,
            CliOptions.Std,
            new("--eval", "DIR", "held-out samples to compare against FP32 (files as --calibration reads them, or one subfolder per class, DIR/<class>/<files>, for top-1 accuracy too); default: the first calibration samples (in-sample)"),
            new("--eval-samples", "N", "samples compared against FP32 after quantizing; 0 skips the comparison", Default: "32"),
            CliOptions.Threads,
        ]);

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(IAnsiConsole console, IReadOnlyList<string> args)
    {
        var options = Options.Parse(args);
        if (options.Help)
        {
            Definition.PrintHelp(console);
            return 0;
        }

        var config = options.Line.Config(console);
        config = (config with
        {
            Mode = options.Dynamic ? QuantizationMode.Dynamic : config.Mode,
            Observer = options.Observer ?? config.Observer,
        }).Validated();
        return options.Model is null ? RunDefault(console, config, options) : RunModel(console, config, options);
    }

    private static int RunDefault(IAnsiConsole console, QuantizationConfig config, Options options)
    {
        var model = DefaultModel.Load();
        var calibration = InMemoryCalibrationData.ForSingleInput(DefaultModel.InputName, DefaultModel.CalibrationImages());
        var (images, labels) = DefaultModel.TestSet();
        CheckAimetModel(options);
        OutputPaths.Check(null, ("--output", options.Output), ("--encodings", options.Encodings), ("--aimet-model", options.AimetModel));
        console.MarkupLine("[bold]Quantizing the built-in Fashion-MNIST CNN[/] (3 Conv+BatchNorm+ReLU, 2 MaxPool, 2 Gemm; 256 calibration images, 500 test images)");
        var result = ProgressBars.Run(console, "calibrating", p => OnnxQuantizer.Quantize(model, calibration, config, progress: p));
        var test = InMemoryCalibrationData.ForSingleInput(DefaultModel.InputName, images);
        var report = ProgressBars.Run(console, "comparing with FP32", p => ModelComparer.Compare(model, result, test, options.Threads, 100, progress: p));
        double fp32Accuracy = Accuracy(model, images, labels, Int8Arithmetic.Host), int8Accuracy = Accuracy(result.Model, images, labels, Int8Arithmetic.Host);
        double? exactAccuracy = report.ExactOutputs is null ? null : Accuracy(result.Model, images, labels, Int8Arithmetic.Exact);
        PrintSummary(console, result, report, (fp32Accuracy, int8Accuracy, exactAccuracy, images.Count));
        Save(console, result, options);
        return 0;
    }

    private static int RunModel(IAnsiConsole console, QuantizationConfig config, Options options)
    {
        if (options.Output is null)
        {
            throw new UsageException("--output OUT.onnx is required when a model is given.");
        }

        if (options.Calibration is null && config.Mode == QuantizationMode.Static)
        {
            throw new UsageException("--calibration DIR is required for static quantization (or use --dynamic).");
        }

        CheckAimetModel(options);
        OutputPaths.Check(options.Model, ("--output", options.Output), ("--encodings", options.Encodings), ("--aimet-model", options.AimetModel));
        OutputPaths.CheckOutside(options.Calibration, "--calibration", ("--output", options.Output), ("--encodings", options.Encodings), ("--aimet-model", options.AimetModel));
        OutputPaths.CheckOutside(options.Eval, "--eval", ("--output", options.Output), ("--encodings", options.Encodings), ("--aimet-model", options.AimetModel));

        var model = OnnxModel.Load(options.Model!);
        FolderCalibrationData? data = options.Calibration is null ? null : FolderCalibrationData.Open(options.Calibration, model, mean: options.Mean, std: options.Std);
        console.MarkupLineInterpolated($"[bold]Quantizing {Path.GetFileName(options.Model!)}[/] ({model.Nodes.Count} nodes, opset {model.OpsetVersion}, {data?.Count ?? 0} calibration samples)");
        var result = ProgressBars.Run(console, "calibrating", p => OnnxQuantizer.Quantize(model, data, config, progress: p));
        PrintPreparation(console, result.Preparation);
        if (options.EvalSamples > 0 && Evaluation(model, data, options) is var (subset, labelled, source))
        {
            var report = ProgressBars.Run(console, "comparing with FP32", p => ModelComparer.Compare(model, result, subset, options.Threads, 50, progress: p));
            (double, double, double?, int)? accuracy = null;
            if (labelled is not null)
            {
                double fp32Accuracy = ModelComparer.Top1Accuracy(model, labelled), int8Accuracy = ModelComparer.Top1Accuracy(result.Model, labelled);
                double? exactAccuracy = report.ExactOutputs is null ? null : ModelComparer.Top1Accuracy(result.Model, labelled, arithmetic: Int8Arithmetic.Exact);
                accuracy = (fp32Accuracy, int8Accuracy, exactAccuracy, labelled.Count);
            }

            console.MarkupLineInterpolated($"compared on {report.Samples} {source}");
            PrintSummary(console, result, report, accuracy);
        }

        // Written last, once every step (the comparison too) has succeeded: a failure leaves no output behind.
        Save(console, result, options);
        return 0;
    }

    /// <summary>
    /// The comparison's samples: the first --eval-samples of --eval DIR (with labels when it holds one subfolder per class),
    /// else of the calibration data (in-sample, said so); null when there are none.
    /// </summary>
    private static (ICalibrationDataSource Samples, LabelledData? Labelled, string Source)? Evaluation(OnnxModel model, FolderCalibrationData? calibration, Options options)
    {
        if (options.Eval is { } eval)
        {
            if (Directory.Exists(eval) && Directory.GetFiles(eval).Length == 0 && Directory.GetDirectories(eval).Length > 0)
            {
                var all = LabelledData.OpenFolder(eval, model, mean: options.Mean, std: options.Std);
                var samples = new InMemoryCalibrationData(all.Samples.GetSamples().Take(options.EvalSamples));
                var labelled = new LabelledData(samples, [.. all.Labels.Take(samples.Count ?? 0)], all.Classes);
                return (samples, labelled, $"held-out samples from {Path.GetFileName(Path.TrimEndingDirectorySeparator(eval))} ({all.Classes.Count} classes)");
            }

            var held = FolderCalibrationData.Open(eval, model, mean: options.Mean, std: options.Std);
            return (new InMemoryCalibrationData(held.GetSamples().Take(options.EvalSamples)), null, $"held-out samples from {Path.GetFileName(Path.TrimEndingDirectorySeparator(eval))}");
        }

        return calibration is null ? null
            : (new InMemoryCalibrationData(calibration.GetSamples().Take(options.EvalSamples)), null, "calibration samples (in-sample: --eval DIR compares on held-out data)");
    }

    /// <summary>What preparation changed: opset conversion and its rewrites, float16, constants, folds.</summary>
    private static void PrintPreparation(IAnsiConsole console, PreparationReport report)
    {
        if (report.OpsetTo != report.OpsetFrom)
        {
            console.MarkupLineInterpolated($"converted from opset {report.OpsetFrom} to {report.OpsetTo}");
        }

        foreach (var note in report.OpsetNotes)
        {
            console.MarkupLineInterpolated($"  {note}");
        }

        if (report.Float16Changes > 0)
        {
            console.MarkupLine("float16 model: quantized as the float32 model computing the same function (float16 inputs and outputs kept)");
        }

        int folded = report.FoldedBatchNorms.Count + report.FoldedScaleShifts.Count;
        if (report.ConstantNodes > 0 || folded > 0)
        {
            console.MarkupLineInterpolated($"{report.ConstantNodes} Constant nodes made initializers, {folded} BatchNorm/scale/shift nodes folded into the layer before");
        }

        if (report.SmoothedTensors.Count > 0)
        {
            console.MarkupLineInterpolated($"outlier smoothing: {report.SmoothedTensors.Count} activations' outlier channels moved into the weights after them");
        }
    }

    private static void CheckAimetModel(Options options)
    {
        if (options.AimetModel is not null && options.Encodings is null)
        {
            throw new UsageException("--aimet-model writes the FP32 model for the encodings: give --encodings FILE too.");
        }
    }

    private static void Save(IAnsiConsole console, QuantizationResult result, Options options)
    {
        // Everything that can fail is computed before the first file is written, so no output comes without the others.
        string? encodings = options.Encodings is null ? null : AimetEncodingsFile.ToJson(result, options.EncodingsVersion);
        var fp32 = options.AimetModel is null ? null : AimetExport.Fp32Model(result);
        if (options.Output is not null)
        {
            result.Model.Save(options.Output);
            console.MarkupLineInterpolated($"wrote [green]{options.Output}[/] ({(new FileInfo(options.Output).Length / 1024.0).ToString("F1", Inv)} KiB)");
        }

        if (encodings is not null)
        {
            AtomicFile.WriteAllText(options.Encodings!, encodings);
            console.MarkupLineInterpolated($"wrote [green]{options.Encodings}[/] (AIMET encodings {EncodingsVersions.NameOf(options.EncodingsVersion)})");
        }

        if (fp32 is not null)
        {
            fp32.Save(options.AimetModel!);
            console.MarkupLineInterpolated($"wrote [green]{options.AimetModel}[/] (FP32 with the final weights, for the encodings)");
        }
    }

    private static double Accuracy(OnnxModel model, IReadOnlyList<InputTensor> images, byte[] labels, Int8Arithmetic arithmetic) =>
        ModelComparer.Top1Accuracy(model, images, [.. labels.Select(l => (int)l)], arithmetic: arithmetic);

    private static void PrintSummary(IAnsiConsole console, QuantizationResult result, ComparisonReport report, (double Fp32, double Int8, double? Exact, int Count)? accuracy)
    {
        var prep = result.Preparation;
        console.MarkupLineInterpolated($"prepared: opset {prep.OpsetFrom} → {prep.OpsetTo}, {prep.FoldedBatchNorms.Count} BatchNorm folded; {result.QuantizedNodes.Count} nodes quantized, {result.Encodings.Count} tensors encoded");
        string label = result.Config.Mode == QuantizationMode.Dynamic ? "INT8 dynamic" : $"W{QuantizationConfig.BitsOf(result.Config.Weights)}A{QuantizationConfig.FormatOf(result.Config.Activations).Bits}";
        var table = new Table().Title($"FP32 vs {label} ({report.Samples} samples, ONNX Runtime CPU, {report.Threads} thread(s))")
            .AddColumn("metric").AddColumn(new TableColumn("FP32").RightAligned()).AddColumn(new TableColumn(label).RightAligned()).AddColumn(new TableColumn("ratio").RightAligned());
        if (accuracy is { } a)
        {
            var percent = ScoreText.Accuracy;
            table.AddRow($"top-1 accuracy ({a.Count} test images)", percent.Value(a.Fp32), percent.Value(a.Int8), percent.Difference(a.Int8 - a.Fp32));
            if (a.Exact is { } e)
            {
                table.AddRow("top-1 accuracy, exact int32 (target)", "", percent.Value(e), percent.Difference(e - a.Fp32));
            }
        }

        table.AddRow("model size", Kib(report.Fp32ModelBytes), Kib(report.QuantizedModelBytes), $"{((double)report.QuantizedModelBytes / report.Fp32ModelBytes).ToString("F2", Inv)}×");
        table.AddRow("latency, batch 1 (median)", Ms(report.Fp32Latency), Ms(report.QuantizedLatency), $"{(report.QuantizedLatency / report.Fp32Latency).ToString("F2", Inv)}×");
        foreach (var o in report.Outputs)
        {
            table.AddRow($"output '{Markup.Escape(o.Name)}' SQNR", "", $"{o.SqnrDecibels.ToString("F1", Inv)} dB", "");
            table.AddRow($"output '{Markup.Escape(o.Name)}' cosine", "", o.CosineSimilarity.ToString("F5", Inv), "");
            if (o.PooledCosine is { } pooled)
            {
                // Token embeddings of a text encoder: the mean-pooled sentence embedding is what its users compare.
                table.AddRow($"output '{Markup.Escape(o.Name)}' pooled-embedding cosine (mean / min)", "", $"{pooled.ToString("F5", Inv)} / {o.MinPooledCosine!.Value.ToString("F5", Inv)}", "");
            }
            else if (o.Top1Agreement is { } t)
            {
                table.AddRow($"output '{Markup.Escape(o.Name)}' top-1 agreement", "", $"{(t * 100).ToString("F1", Inv)}%", "");
            }
        }

        foreach (var o in report.ExactOutputs ?? [])
        {
            table.AddRow($"output '{Markup.Escape(o.Name)}' SQNR, exact int32 (target)", "", $"{o.SqnrDecibels.ToString("F1", Inv)} dB", "");
        }

        console.Write(table);
        console.MarkupLineInterpolated($"int8 arithmetic measured: this host's ONNX Runtime, {report.HostArithmetic}; target {DeploymentTargets.NameOf(report.Target)}");
        foreach (var warning in report.Warnings)
        {
            console.MarkupLineInterpolated($"[yellow]warning:[/] {warning}");
        }

        if (report.Layers.Count > 0)
        {
            var layers = new Table().Title("where the error enters: SQNR of each quantized activation vs FP32 (all earlier layers quantized)")
                .AddColumn("tensor").AddColumn("node").AddColumn(new TableColumn("SQNR dB").RightAligned()).AddColumn(new TableColumn("cosine").RightAligned());
            foreach (var l in report.Layers)
            {
                layers.AddRow(Markup.Escape(l.Tensor), Markup.Escape(l.Node), l.SqnrDecibels.ToString("F1", Inv), l.CosineSimilarity.ToString("F5", Inv));
            }

            console.Write(layers);
        }
    }

    private static string Kib(long bytes) => $"{(bytes / 1024.0).ToString("F1", Inv)} KiB";

    private static string Ms(TimeSpan t) => $"{t.TotalMilliseconds.ToString("F3", Inv)} ms";

    private sealed record Options
    {
        public required CommandLine Line { get; init; }
        public string? Model { get; init; }
        public string? Calibration { get; init; }
        public string? Output { get; init; }
        public string? Encodings { get; init; }

        public string? AimetModel { get; init; }
        public AimetEncodingsVersion EncodingsVersion { get; init; }
        public ObserverKind? Observer { get; init; }
        public bool Dynamic { get; init; }
        public bool Help { get; init; }
        public float[]? Mean { get; init; }
        public float[]? Std { get; init; }
        public int EvalSamples { get; init; }
        public string? Eval { get; init; }
        public int Threads { get; init; }

        public static Options Parse(IReadOnlyList<string> args)
        {
            var line = CommandLine.Parse(Definition, args);
            return new Options
            {
                Line = line,
                Model = line.Positional,
                Calibration = line.Value("--calibration"),
                Output = line.Value("--output"),
                Encodings = line.Value("--encodings"),
                AimetModel = line.Value("--aimet-model"),
                EncodingsVersion = line.Choice(EncodingsVersions) ?? AimetEncodingsVersion.Version100,
                Observer = line.Choice(Observers),
                Dynamic = line.Flag("--dynamic"),
                Help = line.Help,
                Mean = line.Floats("--mean"),
                Std = line.Floats("--std"),
                EvalSamples = line.Int("--eval-samples", 32, 0),
                Eval = line.Value("--eval"),
                Threads = line.Int("--threads", 1, 0),
            };
        }
    }
}

/// <summary>Wrong command-line usage (exit code 2).</summary>
internal sealed class UsageException(string message) : Exception(message);
