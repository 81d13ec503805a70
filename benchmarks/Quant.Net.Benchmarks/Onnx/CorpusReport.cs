using System.Globalization;
using Quant.Net.Onnx;
using Quant.Net.Onnx.Tests.Corpus;

namespace Quant.Net.Benchmarks.Onnx;

/// <summary>
/// The README's corpus table: each pretrained model of the corpus quantized with default settings at W8A8, W8A16 and
/// W4A8, compared with the original on held-out real inputs (main output SQNR), its size, and ONNX Runtime's median
/// batch-1 latency on one thread against the original's, measured in the same run.
/// </summary>
internal static class CorpusReport
{
    public static void Run()
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine("| Model | Source package | Opset | Ops (nodes) | W8A8 SQNR | W8A16 SQNR | W4A8 SQNR | Dynamic W8 SQNR | Size FP → W8A8 | ORT latency W8A8 / FP (1 thread) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var corpus in CorpusModels.All)
        {
            if (corpus.Path is null)
            {
                Console.WriteLine($"| {corpus.Name} | {corpus.Source} | missing: run .ci/corpus | | | | | | | |");
                continue;
            }

            var model = corpus.Load();
            var ops = model.CountOperators();
            var sqnr = new Dictionary<string, string>();
            string size = "", latency = "";
            foreach (var (variant, config) in CorpusModels.Variants)
            {
                var result = OnnxQuantizer.Quantize(model, corpus.Calibration, config);
                bool timed = variant == "W8A8";
                var report = ModelComparer.Compare(model, result, corpus.Evaluation, latencyThreads: 1, latencyRuns: timed ? (corpus.CalibrationSamples < 4 ? 5 : 30) : 0, perLayer: false);
                var main = report.Outputs.Single(o => o.Name == corpus.MainOutput);
                sqnr[variant] = result.QuantizedNodes.Count == 0 ? "not quantized" : $"{main.SqnrDecibels.ToString("F1", inv)} dB";
                if (timed)
                {
                    size = $"{Mb(report.Fp32ModelBytes)} → {Mb(report.QuantizedModelBytes)} MB";
                    latency = $"{report.QuantizedLatency.TotalMilliseconds.ToString("G3", inv)} / {report.Fp32Latency.TotalMilliseconds.ToString("G3", inv)} ms ({(report.QuantizedLatency / report.Fp32Latency).ToString("F2", inv)}×)";
                }
            }

            Console.WriteLine($"| {corpus.Name} | {corpus.Source} | {model.OpsetVersion} | {corpus.Covers} ({ops.Values.Sum()}) | {sqnr["W8A8"]} | {sqnr["W8A16"]} | {sqnr["W4A8"]} | {sqnr["dynamic"]} | {size} | {latency} |");
        }
    }

    private static string Mb(long bytes) => (bytes / 1e6).ToString("F1", CultureInfo.InvariantCulture);
}
