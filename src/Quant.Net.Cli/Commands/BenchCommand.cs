using System.Globalization;
using Quant.Net.Onnx;
using Spectre.Console;

namespace Quant.Net.Cli;

/// <summary><c>quant bench</c>: FP32 vs quantized latency and size in ONNX Runtime.</summary>
internal static class BenchCommand
{
    public static readonly CliCommand Definition = new("bench", "latency and size of an FP32 model and its quantized version in ONNX Runtime (CPU)",
        [
            "quant bench|the built-in Fashion-MNIST CNN and its W8A8 QDQ model",
            "quant bench MODEL.onnx --quantized Q.onnx [options]",
            "quant bench MODEL.onnx --calibration DIR [options]|quantizes with the defaults first",
        ],
        [
            new("--quantized", "Q.onnx", "the quantized model to compare (else MODEL is quantized with the defaults)"),
            new("--calibration", "DIR", "calibration samples (needed without --quantized); the first is the timed input"),
            new("--threads", "N", "ONNX Runtime intra-op threads", Default: "1"),
            new("--runs", "N", "timed runs after 10 warm-up runs; the median is reported", Default: "100"),
        ],
        "Without calibration data the timed input is random, shaped after the model's inputs (free dimensions: 1).");

    public static int Run(IAnsiConsole console, IReadOnlyList<string> args)
    {
        if (!Definition.TryParse(console, args, out var line))
        {
            return 0;
        }

        int threads = line.Int("--threads", 1, 1), runs = line.Int("--runs", 100, 1);
        OnnxModel fp32, quantized;
        IReadOnlyDictionary<string, InputTensor> input;
        string title;
        if (line.Positional is null)
        {
            fp32 = DefaultModel.Load();
            var calibration = InMemoryCalibrationData.ForSingleInput(DefaultModel.InputName, DefaultModel.CalibrationImages());
            quantized = ProgressBars.Run(console, "quantizing", p => OnnxQuantizer.Quantize(fp32, calibration, progress: p)).Model;
            input = calibration.GetSamples().First();
            title = "the built-in Fashion-MNIST CNN: FP32 vs W8A8";
        }
        else
        {
            fp32 = OnnxModel.Load(line.Positional);
            FolderCalibrationData? calibration = line.Value("--calibration") is { } dir ? FolderCalibrationData.Open(dir, fp32) : null;
            if (line.Value("--quantized") is { } path)
            {
                quantized = OnnxModel.Load(path);
            }
            else
            {
                quantized = ProgressBars.Run(console, "quantizing", p => OnnxQuantizer.Quantize(fp32, calibration
                    ?? throw new UsageException("give --quantized Q.onnx, or --calibration DIR to quantize the model first."), progress: p)).Model;
            }

            input = calibration?.GetSamples().First() ?? RandomInput(fp32);
            title = $"{Path.GetFileName(line.Positional)}: FP32 vs {(line.Value("--quantized") is { } q ? Path.GetFileName(q) : "W8A8 (defaults)")}";
        }

        TimeSpan a = TimeSpan.Zero, b = TimeSpan.Zero;
        console.Status().Start($"timing {runs} runs each", _ =>
        {
            using var f = new ModelRunner(fp32, threads);
            using var q = new ModelRunner(quantized, threads);
            a = f.MedianLatency(input, runs);
            b = q.MedianLatency(input, runs);
        });
        var inv = CultureInfo.InvariantCulture;
        var table = new Table().Title($"{Markup.Escape(title)} (ONNX Runtime CPU, {threads} thread(s), median of {runs})")
            .AddColumn("metric").AddColumn(new TableColumn("FP32").RightAligned()).AddColumn(new TableColumn("quantized").RightAligned()).AddColumn(new TableColumn("ratio").RightAligned());
        table.AddRow("latency", $"{a.TotalMilliseconds.ToString("F3", inv)} ms", $"{b.TotalMilliseconds.ToString("F3", inv)} ms", $"{(b / a).ToString("F2", inv)}×");
        table.AddRow("model size", $"{(fp32.SerializedBytes / 1024.0).ToString("F1", inv)} KiB", $"{(quantized.SerializedBytes / 1024.0).ToString("F1", inv)} KiB",
            $"{((double)quantized.SerializedBytes / fp32.SerializedBytes).ToString("F2", inv)}×");
        console.Write(table);
        return 0;
    }

    private static Dictionary<string, InputTensor> RandomInput(OnnxModel model)
    {
        var random = new Random(1);
        var inputs = new Dictionary<string, InputTensor>(StringComparer.Ordinal);
        foreach (var i in model.Inputs)
        {
            if (!string.Equals(i.ElementType, "float", StringComparison.OrdinalIgnoreCase))
            {
                throw new NotSupportedException($"Input '{i.Name}' is {i.ElementType}; without --calibration only float inputs can be generated.");
            }

            int[] shape = [.. i.Shape.Select(d => d is > 0 ? (int)d.Value : 1)];
            var data = new float[shape.Aggregate(1, (x, y) => x * y)];
            for (int k = 0; k < data.Length; k++)
            {
                data[k] = (float)random.NextDouble();
            }

            inputs[i.Name] = InputTensor.FromFloats(data, shape);
        }

        return inputs;
    }
}
