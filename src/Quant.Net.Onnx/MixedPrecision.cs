using System.Text.Json;
using Quant.Net.Techniques;

namespace Quant.Net.Onnx;

/// <summary>
/// Adaptive mixed precision (AIMET's AMP idea): the model is calibrated once; phase 1 scores every layer at every
/// candidate with the rest at the most expensive candidate; phase 2 starts from the most expensive candidate everywhere
/// and, in order of least harm in phase 1, lowers one layer at a time, keeping a lowering only while the score stays
/// within the allowed drop from FP32. Every evaluated model is a point of the accuracy-vs-cost curve. Variants share the
/// one calibration, so the steps that need calibration data of their own (outlier smoothing, bias correction) do not run
/// in the search; the returned <see cref="MixedPrecisionResult.Config"/> keeps them as <c>baseConfig</c> sets them
/// (outlier smoothing on by default), so quantizing with it can score differently from the search (usually better: a
/// transformer encoder's plan gains cosine from smoothing; the Fashion-MNIST CNN's plan scored 94.7% against 95.0%).
/// </summary>
public static class MixedPrecision
{
    /// <summary>Searches a per-layer bit-width plan.</summary>
    /// <param name="model">The FP32 model (not modified).</param>
    /// <param name="calibrationData">Calibration data (observed once for every activation).</param>
    /// <param name="score">Scores each candidate model (higher is better).</param>
    /// <param name="options">Candidates and budget.</param>
    /// <param name="baseConfig">Everything else (observer, per-channel weights, ...); its per-node overrides are replaced.</param>
    /// <param name="progress">One report per evaluated model.</param>
    /// <param name="cancellationToken">Stops the search.</param>
    /// <exception cref="ArgumentException">No candidates, or the model has no layer with constant weights.</exception>
    public static MixedPrecisionResult Search(OnnxModel model, ICalibrationDataSource calibrationData, ModelScore score, MixedPrecisionOptions? options = null,
        QuantizationConfig? baseConfig = null, IProgress<QuantizationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(calibrationData);
        ArgumentNullException.ThrowIfNull(score);
        options ??= new MixedPrecisionOptions();
        baseConfig = (baseConfig ?? new QuantizationConfig()) with { Nodes = new Dictionary<string, OpTypeConfig>(), AdaRound = null };
        var candidates = MixedPrecisionSearch.Order(options.Candidates);
        if (candidates.Count == 0)
        {
            throw new ArgumentException("At least one candidate is needed.", nameof(options));
        }

        // Calibrate once, for every tensor any variant quantizes (observers give encodings at any bit width).
        var (prepared, _) = ModelPreparer.Prepare(model, 21);
        var fullPlan = QuantizationPlan.Build(prepared, baseConfig);
        var layers = Layers(prepared, fullPlan);
        if (layers.Count == 0)
        {
            throw new ArgumentException("The model has no Conv, Gemm or MatMul with constant weights to choose bit widths for.", nameof(model));
        }

        var observers = Calibrator.Observe(prepared, [.. fullPlan.Observed], calibrationData, baseConfig, null, cancellationToken);
        var macs = Macs(prepared, layers, calibrationData, cancellationToken);
        int total = 1 + candidates.Count + (layers.Count * (candidates.Count - 1) * 2), done = 0;
        var evaluated = new List<CostPoint>();
        CostPoint Evaluate(string label, IReadOnlyDictionary<string, PrecisionCandidate> assignment)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = OnnxQuantizer.QuantizeWithObservers(model, null, ConfigFor(baseConfig, layers, assignment), null, observers, null, null, cancellationToken);
            double s = score.Evaluate(result.Model);
            done++;
            progress?.Report(new QuantizationProgress("mixed precision", done, total));
            double bitOps = layers.Sum(l => (double)macs[l.Node] * assignment[l.Node].BitOpsPerMac);
            return new CostPoint(label, result.Model.SerializedBytes, bitOps, s, true);
        }

        double fp32 = score.Evaluate(prepared);
        done++;
        progress?.Report(new QuantizationProgress("mixed precision", done, total));
        double floor = fp32 - options.AllowedDrop;
        var uniform = new List<CostPoint>();
        foreach (var c in candidates)
        {
            var p = Evaluate("uniform " + c, layers.ToDictionary(l => l.Node, _ => c));
            uniform.Add(p with { Accepted = p.Score >= floor });
        }

        var search = MixedPrecisionSearch.Run([.. layers.Select(l => l.Node)], candidates, floor, assignment =>
        {
            var point = Evaluate("", assignment);
            evaluated.Add(point);
            return point.Score;
        }, layer => macs[layer], cancellationToken);

        // The search calls back phase 1 first (one call per sensitivity entry), then once per step, in order.
        int phase1 = search.Sensitivity.Count;
        var steps = search.Steps.Select((s, i) => evaluated[phase1 + i] with { Label = $"{s.Layer}: {s.From} → {s.To}", Accepted = s.Accepted }).ToList();
        var final = steps.LastOrDefault(p => p.Accepted) ?? uniform[0] with { Label = "start: uniform " + search.Start };
        var all = steps.Concat(uniform).ToList();
        var pareto = all.Where(p => !all.Any(q => q.ModelBytes <= p.ModelBytes && q.Score >= p.Score && (q.ModelBytes < p.ModelBytes || q.Score > p.Score)))
            .OrderBy(p => p.ModelBytes).ToList();
        return new MixedPrecisionResult(score.Name, fp32, options.AllowedDrop,
            [.. layers.Select(l => new LayerPrecision(l.Node, search.Plan[l.Node], l.Parameters, macs[l.Node]))], ConfigFor(baseConfig, layers, search.Plan),
            final with { Accepted = final.Score >= floor }, search.Sensitivity, steps, uniform, pareto) { ScoreIsAccuracy = score.IsAccuracy };
    }

    /// <summary>Layers with constant weights, with the activation node that ends their supergroup (Conv → Relu).</summary>
    private static List<(string Node, string? Tail, long Parameters)> Layers(OnnxModel prepared, QuantizationPlan plan)
    {
        var index = new GraphIndex(prepared.Graph);
        var quantized = plan.QuantizedNodes.ToHashSet(StringComparer.Ordinal);
        var layers = new List<(string, string?, long)>();
        foreach (var weight in plan.Tensors.Where(t => t.Role == TensorRole.Weight))
        {
            var node = prepared.Graph.Node.First(n => n.Name == weight.Node);
            string? tail = !index.GraphOutputs.Contains(node.Output[0]) && index.Consumers(node.Output[0]) is [var next] && quantized.Contains(next.Name)
                && plan[node.Output[0]] is null ? next.Name : null;
            layers.Add((node.Name, tail, index.Initializers[weight.Name].Dims.Aggregate(1L, (a, b) => a * b)));
        }

        return layers;
    }

    private static QuantizationConfig ConfigFor(QuantizationConfig baseConfig, List<(string Node, string? Tail, long Parameters)> layers,
        IReadOnlyDictionary<string, PrecisionCandidate> assignment)
    {
        var nodes = new Dictionary<string, OpTypeConfig>(StringComparer.Ordinal);
        var excluded = baseConfig.ExcludedNodes.ToList();
        foreach (var (node, tail, _) in layers)
        {
            var c = assignment[node];
            if (c.WeightBits >= 32)
            {
                excluded.Add(node);
                if (tail is not null)
                {
                    excluded.Add(tail);
                }

                continue;
            }

            var o = new OpTypeConfig { Weights = WeightType(c.WeightBits), Activations = ActivationType(c.ActivationBits, baseConfig.Activations) };
            nodes[node] = o;
            if (tail is not null)
            {
                nodes[tail] = new OpTypeConfig { Activations = o.Activations };
            }
        }

        return baseConfig with { Nodes = nodes, ExcludedNodes = excluded };
    }

    private static WeightType WeightType(int bits) => QuantizationConfig.WeightTypeFor(bits)
        ?? throw new ArgumentException($"{bits}-bit weights have no ONNX type here (2, 3, 4, 8, 16).", nameof(bits));

    /// <summary>The activation type with these bits, signed like <paramref name="template"/> where such a type exists (4-bit: unsigned only).</summary>
    private static ActivationType ActivationType(int bits, ActivationType template)
    {
        bool signed = QuantizationConfig.FormatOf(template).Signed;
        return QuantizationConfig.ActivationTypeFor(bits, signed) ?? QuantizationConfig.ActivationTypeFor(bits, !signed)
            ?? throw new ArgumentException($"{bits}-bit activations have no ONNX type here (4, 8, 16).", nameof(bits));
    }

    /// <summary>MACs per sample of each layer: output elements (from one FP32 run) × weights per output channel.</summary>
    private static Dictionary<string, long> Macs(OnnxModel prepared, List<(string Node, string? Tail, long Parameters)> layers, ICalibrationDataSource data,
        CancellationToken cancellationToken)
    {
        var nodes = prepared.Graph.Node.ToDictionary(n => n.Name, StringComparer.Ordinal);
        var outputs = layers.Select(l => nodes[l.Node].Output[0]).ToList();
        var sample = data.GetSamples(cancellationToken).FirstOrDefault() ?? throw new InvalidDataException("The calibration source yielded no samples.");
        using var runner = new ModelRunner(prepared, 0, outputs);
        var values = runner.Run(sample);
        var macs = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (node, _, parameters) in layers)
        {
            var (_, shape) = values[nodes[node].Output[0]];
            long batch = shape.Length > 0 ? Math.Max(1, shape[0]) : 1;
            long elements = shape.Aggregate(1L, (a, b) => a * b) / batch;
            int channelAxis = nodes[node].OpType == "Conv" ? 1 : shape.Length - 1;
            long channels = shape.Length > channelAxis ? Math.Max(1, shape[channelAxis]) : 1;
            macs[node] = elements * (parameters / channels);
        }

        return macs;
    }
}
