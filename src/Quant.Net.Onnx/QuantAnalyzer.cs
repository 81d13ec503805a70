using System.Text.Json;

namespace Quant.Net.Onnx;

/// <summary>
/// Quantization analysis in one place (AIMET's QuantAnalyzer, ONNX Runtime's qdq_loss_debug): the model's sensitivity
/// to weight vs activation quantization, per quantizer group with only that group enabled and with only it disabled,
/// per-tensor ranges and histograms with the chosen range, and per-layer error against FP32. The model is quantized and
/// calibrated once; every variant is the same QDQ model with some groups left in float.
/// </summary>
public static class QuantAnalyzer
{
    /// <summary>Analyzes <paramref name="model"/> quantized with <paramref name="config"/>.</summary>
    /// <param name="model">The FP32 model (not modified).</param>
    /// <param name="calibrationData">Calibration data: sets the encodings and fills the histograms.</param>
    /// <param name="score">Scores each variant (for example <see cref="ModelScore.CosineToFp32"/> on held-out data).</param>
    /// <param name="config">Quantization settings (defaults: W8 per-channel, A8).</param>
    /// <param name="histogramBins">Bins per histogram.</param>
    /// <param name="progress">Receives one report per evaluated variant.</param>
    /// <param name="cancellationToken">Stops the analysis.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="histogramBins"/> is below 2.</exception>
    public static QuantAnalysis Analyze(OnnxModel model, ICalibrationDataSource calibrationData, ModelScore score, QuantizationConfig? config = null,
        int histogramBins = 64, IProgress<QuantizationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(calibrationData);
        ArgumentNullException.ThrowIfNull(score);
        ArgumentOutOfRangeException.ThrowIfLessThan(histogramBins, 2);
        var result = OnnxQuantizer.Quantize(model, calibrationData, config, cancellationToken: cancellationToken);
        var groups = result.QuantizedNodes;
        int total = 4 + (2 * groups.Count), done = 0;
        double Score(Func<PlannedTensor, bool> keep)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double s = score.Evaluate(Variant(result, keep));
            done++;
            progress?.Report(new QuantizationProgress("analysis", done, total));
            return s;
        }

        double fp32 = Score(_ => false);
        double all = Score(_ => true);
        double weightOnly = Score(t => t.Role is TensorRole.Weight or TensorRole.Constant);
        double activationOnly = Score(t => t.Role == TensorRole.Activation);
        var ops = result.PreparedModel.Nodes.ToDictionary(n => n.Name, n => n.OpType, StringComparer.Ordinal);
        var sensitivities = new List<GroupSensitivity>();
        foreach (var node in groups)
        {
            var tensors = result.Encodings.Where(e => e.Tensor.Node == node).Select(e => e.Tensor.Name).ToList();
            sensitivities.Add(new GroupSensitivity(node, ops.GetValueOrDefault(node, ""), tensors, Score(t => t.Node == node), Score(t => t.Node != node)));
        }

        var layers = ModelComparer.Compare(model, result, calibrationData, latencyRuns: 0, perLayer: true, cancellationToken: cancellationToken).Layers;
        progress?.Report(new QuantizationProgress("analysis", total, total));
        return new QuantAnalysis(score.Name, fp32, all, weightOnly, activationOnly, sensitivities, Statistics(result, calibrationData, histogramBins, cancellationToken), layers)
        {
            ScoreIsAccuracy = score.IsAccuracy,
        };
    }

    /// <summary>The QDQ model of <paramref name="result"/> with only the tensors <paramref name="keep"/> accepts quantized.</summary>
    internal static OnnxModel Variant(QuantizationResult result, Func<PlannedTensor, bool> keep)
    {
        var kept = result.Encodings.Select(e => e.Tensor).Where(keep).ToDictionary(t => t.Name, StringComparer.Ordinal);
        var tensors = result.Encodings.Select(e => e.Tensor)
            .Where(t => kept.ContainsKey(t.Name) && (t.Role != TensorRole.Bias || (kept.ContainsKey(t.BiasInput!) && kept.ContainsKey(t.BiasWeight!))));
        var plan = QuantizationPlan.From(tensors, result.QuantizedNodes);
        var encodings = result.Encodings.ToDictionary(e => e.Tensor.Name, StringComparer.Ordinal);
        return QdqWriter.Write(result.PreparedModel, plan, encodings, QdqOpset.Of(result.Model));
    }

    private static List<TensorStatistics> Statistics(QuantizationResult result, ICalibrationDataSource data, int bins, CancellationToken cancellationToken)
    {
        var index = new GraphIndex(result.PreparedModel.Graph);
        var statistics = new List<TensorStatistics>();
        var activations = result.Encodings.Where(e => e.Tensor.Role == TensorRole.Activation && e.Encoding is not null).ToList();
        var names = activations.Select(e => e.Tensor.Name).Where(n => !index.GraphInputs.Contains(n)).Distinct().ToList();
        var min = activations.ToDictionary(e => e.Tensor.Name, _ => double.PositiveInfinity, StringComparer.Ordinal);
        var max = activations.ToDictionary(e => e.Tensor.Name, _ => double.NegativeInfinity, StringComparer.Ordinal);
        var histograms = activations.ToDictionary(e => e.Tensor.Name, _ => new long[bins], StringComparer.Ordinal);
        var clipped = activations.ToDictionary(e => e.Tensor.Name, _ => 0L, StringComparer.Ordinal);
        var counts = activations.ToDictionary(e => e.Tensor.Name, _ => 0L, StringComparer.Ordinal);
        using (var runner = new ModelRunner(result.PreparedModel, 0, names))
        {
            // Two passes: ranges, then histograms over them (nothing is kept between samples).
            for (int pass = 0; pass < 2; pass++)
            {
                foreach (var sample in data.GetSamples(cancellationToken))
                {
                    var outputs = runner.Run(sample);
                    foreach (var e in activations)
                    {
                        string name = e.Tensor.Name;
                        float[] values = outputs.TryGetValue(name, out var o) ? o.Data : sample.TryGetValue(name, out var input) && input.Data is float[] f ? f : [];
                        if (pass == 0)
                        {
                            foreach (float v in values)
                            {
                                if (float.IsFinite(v))
                                {
                                    min[name] = Math.Min(min[name], v);
                                    max[name] = Math.Max(max[name], v);
                                }
                            }

                            continue;
                        }

                        var (lo, hi) = EncodingRange(e.Encoding!);
                        Count(values, min[name], max[name], histograms[name]);
                        counts[name] += values.Length;
                        clipped[name] += values.Count(v => v < lo || v > hi);
                    }
                }
            }
        }

        foreach (var e in result.Encodings.Where(e => e.Encoding is not null))
        {
            var (lo, hi) = EncodingRange(e.Encoding!);
            if (e.Tensor.Role == TensorRole.Activation)
            {
                string n = e.Tensor.Name;
                double a = double.IsFinite(min[n]) ? min[n] : 0, b = double.IsFinite(max[n]) ? max[n] : 0;
                statistics.Add(new TensorStatistics(n, e.Tensor.Role, e.Tensor.Node, a, b, lo, hi, e.BitWidth, a, b, histograms[n],
                    counts[n] == 0 ? 0 : (double)clipped[n] / counts[n]));
                continue;
            }

            var values = TensorData.ToFloats(index.Initializers[e.Tensor.Name]);
            double wMin = values.Length == 0 ? 0 : values.Min(), wMax = values.Length == 0 ? 0 : values.Max();
            var histogram = new long[bins];
            Count(values, wMin, wMax, histogram);
            bool perTensor = e.Encoding!.Count == 1;
            statistics.Add(new TensorStatistics(e.Tensor.Name, e.Tensor.Role, e.Tensor.Node, wMin, wMax, lo, hi, e.BitWidth, wMin, wMax, histogram,
                perTensor && values.Length > 0 ? (double)values.Count(v => v < lo || v > hi) / values.Length : 0));
        }

        return statistics;
    }

    /// <summary>[lowest, highest] representable value; per-channel encodings give the envelope over channels.</summary>
    internal static (double Min, double Max) EncodingRange(QuantEncoding encoding)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        for (int i = 0; i < encoding.Count; i++)
        {
            var p = encoding[i];
            lo = Math.Min(lo, p.RepresentableMin);
            hi = Math.Max(hi, p.RepresentableMax);
        }

        return (lo, hi);
    }

    private static void Count(ReadOnlySpan<float> values, double min, double max, long[] histogram)
    {
        double width = (max - min) / histogram.Length;
        foreach (float v in values)
        {
            if (!float.IsFinite(v))
            {
                continue;
            }

            int bin = width <= 0 ? 0 : (int)((v - min) / width);
            histogram[Math.Clamp(bin, 0, histogram.Length - 1)]++;
        }
    }
}
