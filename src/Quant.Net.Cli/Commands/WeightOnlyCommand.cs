using System.Globalization;
using Quant.Net.Kernels;
using Quant.Net.Onnx;
using Spectre.Console;

namespace Quant.Net.Cli;

/// <summary><c>quant weight-only</c>: int4/int8 block weight-only quantization of a model's MatMul layers (LLMs).</summary>
internal static class WeightOnlyCommand
{
    /// <summary>Each method is a layer method and the rounding of block ranges it uses (SeqMSE searches its ranges whatever the rounding says).</summary>
    public static readonly CliChoices<(WeightOnlyMethod Method, BlockRounding Rounding)> Methods = new("--method",
        ("rtn", (WeightOnlyMethod.Blockwise, BlockRounding.Nearest)), ("mse", (WeightOnlyMethod.Blockwise, BlockRounding.MseSearch)),
        ("gptq", (WeightOnlyMethod.Gptq, BlockRounding.Nearest)), ("gptq-mse", (WeightOnlyMethod.Gptq, BlockRounding.MseSearch)),
        ("seqmse", (WeightOnlyMethod.SeqMse, BlockRounding.Nearest)));

    public static readonly CliChoices<WeightOnlyFormat> Formats = new("--format", ("matmulnbits", WeightOnlyFormat.MatMulNBits), ("qdq", WeightOnlyFormat.DequantizeLinear));

    public static readonly CliCommand Definition = new("weight-only", "int4/int8 weight-only quantization of MatMul layers in blocks (language models), written as MatMulNBits or DequantizeLinear",
        [
            "quant weight-only MODEL.onnx --output OUT.onnx [options]",
            "quant weight-only MODEL.onnx --output OUT.onnx --windows DIR|also the perplexity of both models (see quant eval-lm)",
        ],
        [
            new("--output", "OUT.onnx", "where to write the quantized model"),
            new("--bits", "N", "weight bits", ["4", "8"], "4"),
            new("--block-size", "N", "weights per block along K", ["16", "32", "64", "128", "256"], "32"),
            Methods.ToOption("NAME", "rounding: rtn rounds to nearest on each block's range, mse searches each block's clipping range, gptq feeds each column's rounding error to the next through the layer's input Hessian (needs --calibration), gptq-mse does both, seqmse searches each block's range for the smallest error of the layer's outputs on --calibration (weighted by the input Hessian)",
                (WeightOnlyMethod.Blockwise, BlockRounding.Nearest)),
            new("--calibration", "DIR", "token windows (.npy int64 [1, T+1], the first T fed) the model runs on for the Hessians of gptq, gptq-mse and seqmse"),
            Formats.ToOption("NAME", "matmulnbits: ONNX Runtime's com.microsoft MatMulNBits; qdq: opset-21 DequantizeLinear with block_size", new WeightOnlyOptions().Format),
            new("--accuracy-level", "N", "MatMulNBits accuracy_level: 0 (unset) keeps float activations, 4 lets ONNX Runtime quantize them to int8", ["0", "1", "2", "3", "4"], "0"),
            new("--asymmetric", null, "a zero point per block (default: symmetric blocks)"),
            new("--untie-embeddings", null, "store an embedding table tied to the LM head int8 per row of its own (default: read it from the head's packed weights, stored once)"),
            new("--windows", "DIR", "token windows (.npy int64 [1, T+1]) to measure perplexity of FP32 and quantized"),
        ],
        "MatMul layers with a constant 2-D weight are quantized, and embedding tables (Gather) to int8 per row; other ops stay float. With rtn and mse a model is streamed: tensors in external data are memory-mapped and read a layer at a time, and the output's go to OUT.onnx.data as they are made, so models larger than memory quantize (gptq and seqmse run the model in ONNX Runtime and need it in memory).");

    public static int Run(IAnsiConsole console, IReadOnlyList<string> args)
    {
        if (!Definition.TryParse(console, args, out var line))
        {
            return 0;
        }

        if (line.Positional is not { } path)
        {
            throw new UsageException("give the model: quant weight-only MODEL.onnx --output OUT.onnx");
        }

        string output = line.Value("--output") ?? throw new UsageException("give the output: --output OUT.onnx");
        OutputPaths.Check(path, ("--output", output));
        var (method, rounding) = line.Choice(Methods) ?? (WeightOnlyMethod.Blockwise, BlockRounding.Nearest);
        var options = new WeightOnlyOptions
        {
            Blocks = new BlockQuantizationOptions
            {
                Bits = line.Int("--bits", 4, 4),
                BlockSize = line.Int("--block-size", 32, 16),
                Symmetric = !line.Flag("--asymmetric"),
                Rounding = rounding,
            },
            Method = method,
            Format = line.Choice(Formats) ?? new WeightOnlyOptions().Format,
            AccuracyLevel = line.Int("--accuracy-level", 0, 0),
            ShareTiedEmbeddings = !line.Flag("--untie-embeddings"),
        };
        if (options.Method == WeightOnlyMethod.Blockwise && line.Value("--calibration") is not null)
        {
            console.MarkupLine("[yellow]warning:[/] --calibration is read only by --method gptq, gptq-mse and seqmse; ignored.");
        }

        var windows = line.Value("--windows") is { } dir ? EvalLmCommand.ReadWindows(dir) : null;
        WeightOnlyFileResult result;
        if (options.Method == WeightOnlyMethod.Blockwise)
        {
            // Streamed: a model with external data is read a layer at a time and never held in memory.
            result = ProgressBars.Run(console, "quantizing layers", p => WeightOnlyQuantizer.QuantizeFile(path, output, options, p));
        }
        else
        {
            var tokens = EvalLmCommand.ReadWindows(line.Value("--calibration") ?? throw new UsageException($"--method {line.Value("--method")} needs --calibration DIR (token windows)."));
            var fp32 = OnnxModel.Load(path);
            var feed = LanguageModelEvaluator.Feeder(fp32);
            var calibration = new InMemoryCalibrationData(tokens.Select(t => feed(t[..^1])));
            var inMemory = ProgressBars.Run(console, "quantizing layers", p => WeightOnlyQuantizer.Quantize(fp32, options, calibration, p));
            inMemory.Model.Save(output);
            result = new WeightOnlyFileResult(inMemory.QuantizedNodes, inMemory.Weights.Count, inMemory.Weights.Values.Sum(w => (long)w.N * w.K * sizeof(float)),
                inMemory.Weights.Values.Sum(w => w.StorageBytes), new FileInfo(path).Length, new FileInfo(output).Length) { TiedEmbeddings = inMemory.TiedEmbeddings };
        }

        var inv = CultureInfo.InvariantCulture;
        var table = new Table().Title($"{Markup.Escape(Path.GetFileName(path))}: {options.Blocks.Bits}-bit weights, blocks of {options.Blocks.BlockSize}, {MethodName(options)}")
            .AddColumn("metric").AddColumn(new TableColumn("FP32").RightAligned()).AddColumn(new TableColumn("quantized").RightAligned()).AddColumn(new TableColumn("ratio").RightAligned());
        table.AddRow("MatMul layers quantized", "", result.Layers.ToString(inv), "");
        table.AddRow("embedding tables tied to a head (stored once)", "", result.TiedEmbeddings.Count.ToString(inv), "");
        table.AddRow("embedding tables (int8 per row)", "", (result.QuantizedNodes.Count - result.Layers - result.TiedEmbeddings.Count).ToString(inv), "");
        table.AddRow("their weights (with scales)", Kib(result.FloatWeightBytes), Kib(result.QuantizedWeightBytes), Ratio(result.QuantizedWeightBytes, result.FloatWeightBytes));
        table.AddRow("model files", Kib(result.InputBytes), Kib(result.OutputBytes), Ratio(result.OutputBytes, result.InputBytes));
        if (windows is not null)
        {
            var a = ProgressBars.Run(console, "perplexity, FP32", p => LanguageModelEvaluator.Perplexity(OnnxModel.Load(path), windows, p));
            var b = ProgressBars.Run(console, "perplexity, quantized", p => LanguageModelEvaluator.Perplexity(OnnxModel.Load(output), windows, p));
            table.AddRow($"perplexity ({a.Tokens} tokens)", a.Perplexity.ToString("F4", inv), b.Perplexity.ToString("F4", inv), ((b.Perplexity / a.Perplexity) - 1).ToString("+0.00%;-0.00%", inv));
        }

        console.Write(table);
        console.MarkupLineInterpolated($"wrote {output}");
        return 0;

        static string MethodName(WeightOnlyOptions o) => o.Method switch
        {
            WeightOnlyMethod.SeqMse => "ranges by output error (SeqMSE)",
            WeightOnlyMethod.Gptq => o.Blocks.Rounding == BlockRounding.MseSearch ? "GPTQ, MSE ranges" : "GPTQ",
            _ => o.Blocks.Rounding == BlockRounding.MseSearch ? "MSE ranges" : "nearest",
        };

        static string Kib(long bytes) => $"{(bytes / 1024.0).ToString("F1", CultureInfo.InvariantCulture)} KiB";
        static string Ratio(long a, long b) => $"{((double)a / b).ToString("F3", CultureInfo.InvariantCulture)}×";
    }
}
