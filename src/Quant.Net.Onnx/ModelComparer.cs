using Microsoft.ML.OnnxRuntime;

namespace Quant.Net.Onnx;

/// <summary>Runs FP32 and quantized models on the same inputs and reports what quantization cost and bought.</summary>
public static class ModelComparer
{
    /// <summary>Compares <paramref name="fp32"/> with the quantized model of <paramref name="result"/> on <paramref name="samples"/>.</summary>
    /// <param name="fp32">The original FP32 model.</param>
    /// <param name="result">The quantization result (its prepared FP32 model gives the per-layer references).</param>
    /// <param name="samples">Inputs (each sample must fit the model's inputs).</param>
    /// <param name="latencyThreads">Intra-op threads for latency measurement (1 = single core).</param>
    /// <param name="latencyRuns">Timed runs per model (median reported); 0 skips latency.</param>
    /// <param name="perLayer">Also measure per-layer SQNR (runs unfused copies with intermediate outputs).</param>
    /// <param name="configureSession">Adjusts ONNX Runtime's session options of every session the comparison opens, after
    /// ours (an execution provider, logging); null for ours alone.</param>
    /// <param name="progress">Receives progress.</param>
    /// <param name="cancellationToken">Stops the comparison.</param>
    public static ComparisonReport Compare(OnnxModel fp32, QuantizationResult result, ICalibrationDataSource samples, int latencyThreads = 1,
        int latencyRuns = 50, bool perLayer = true, Action<SessionOptions>? configureSession = null, IProgress<QuantizationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fp32);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(samples);
        var layers = perLayer
            ? result.Encodings.Where(e => e.Tensor.Role == TensorRole.Activation && !new GraphIndex(result.PreparedModel.Graph).GraphInputs.Contains(e.Tensor.Name)).Select(e => e.Tensor).ToList()
            : [];
        var layerNames = layers.Select(l => l.Name).Where(n => !fp32.Outputs.Any(o => o.Name == n)).ToList();
        using var reference = new ModelRunner(fp32, latencyThreads, configureSession: configureSession);
        using var quantized = new ModelRunner(result.Model, latencyThreads, configureSession: configureSession);
        var saturable = SaturatingPairSimulation.SaturableWeights(result.Model);
        using var exact = Int8Host.Saturates && saturable.Count > 0 ? new ModelRunner(result.Model, latencyThreads, arithmetic: Int8Arithmetic.Exact, configureSession: configureSession) : null;
        var exactStats = exact is null ? null : fp32.Outputs.ToDictionary(o => o.Name, _ => new Accumulator(), StringComparer.Ordinal);
        using var referenceLayers = layerNames.Count > 0 ? new ModelRunner(result.PreparedModel, 0, layerNames, configureSession: configureSession) : null;
        using var quantizedLayers = layerNames.Count > 0 ? new ModelRunner(result.Model, 0, layerNames, configureSession: configureSession) : null;
        var outputStats = fp32.Outputs.ToDictionary(o => o.Name, _ => new Accumulator(), StringComparer.Ordinal);
        var layerStats = layers.ToDictionary(l => l.Name, _ => new Accumulator(), StringComparer.Ordinal);
        int count = 0;
        IReadOnlyDictionary<string, InputTensor>? first = null;
        foreach (var sample in samples.GetSamples(cancellationToken))
        {
            first ??= sample;
            var a = reference.Run(sample);
            var b = quantized.Run(sample);
            var mask = AttentionMask(sample);
            foreach (var (name, acc) in outputStats)
            {
                acc.Add(a[name], b[name], mask);
            }

            if (exact is not null)
            {
                var e = exact.Run(sample);
                foreach (var (name, acc) in exactStats!)
                {
                    acc.Add(a[name], e[name]);
                }
            }

            if (referenceLayers is not null)
            {
                var ra = referenceLayers.Run(sample);
                var qa = quantizedLayers!.Run(sample);
                foreach (var (name, acc) in layerStats)
                {
                    if (ra.TryGetValue(name, out var x) && qa.TryGetValue(name, out var y))
                    {
                        acc.Add(x, y);
                    }
                }
            }

            count++;   // not inside the call: a null progress would skip the increment
            progress?.Report(new QuantizationProgress("evaluation", count, samples.Count));
        }

        if (first is null)
        {
            throw new InvalidDataException("The comparison source yielded no samples.");
        }

        var fp32Latency = latencyRuns > 0 ? reference.MedianLatency(first, latencyRuns) : TimeSpan.Zero;
        var quantizedLatency = latencyRuns > 0 ? quantized.MedianLatency(first, latencyRuns) : TimeSpan.Zero;
        var outputs = outputStats.Select(kv => kv.Value.ToOutput(kv.Key)).ToList();
        var exactOutputs = exactStats?.Select(kv => kv.Value.ToOutput(kv.Key)).ToList();
        return new ComparisonReport(count, outputs,
            [.. layers.Where(l => layerStats[l.Name].Count > 0).Select(l => new LayerComparison(l.Name, l.Node, layerStats[l.Name].Sqnr, layerStats[l.Name].Cosine, layerStats[l.Name].Mse))],
            fp32.SerializedBytes, result.Model.SerializedBytes, fp32Latency, quantizedLatency, latencyThreads)
        {
            Target = result.Config.Target,
            SaturableWeights = saturable,
            ExactOutputs = exactOutputs,
            Warnings = ArithmeticWarnings(result.Config.Target, saturable, outputs, exactOutputs),
        };
    }

    /// <summary>A difference in output SQNR beyond which host and exact arithmetic are reported as different (not noise).</summary>
    private const double NoiseDecibels = 0.5;

    private static List<string> ArithmeticWarnings(DeploymentTarget target, IReadOnlyList<string> saturable, List<OutputComparison> host, List<OutputComparison>? exact)
    {
        var warnings = new List<string>();
        if (saturable.Count > 0 && Int8Host.Saturates)
        {
            (OutputComparison First, OutputComparison Second)? worst = exact is null ? null : host.Zip(exact).MaxBy(p => p.Second.SqnrDecibels - p.First.SqnrDecibels);
            string measured = worst is { } w && w.Second.SqnrDecibels - w.First.SqnrDecibels > NoiseDecibels
                ? $"output '{w.First.Name}' SQNR is {w.First.SqnrDecibels:F1} dB here and {w.Second.SqnrDecibels:F1} dB with exact arithmetic"
                : "the difference is within noise on these samples";
            warnings.Add($"target {DeploymentTargets.NameOf(target)} assumes exact int32 accumulation, but this host is {Int8Host.Description} and "
                + $"{saturable.Count} weight tensor(s) can saturate (for example '{saturable[0]}'): {measured}. Quantize with --target portable "
                + "(or x86-avx2) for models that must be exact on such CPUs.");
        }
        else if (saturable.Count > 0 && !DeploymentTargets.AccumulatesExactly(target))
        {
            // Possible only with encodings given from outside (imported, QAT): the target's kernels would saturate them.
            warnings.Add($"target {DeploymentTargets.NameOf(target)} includes x86 CPUs without VNNI, whose ONNX Runtime kernels add u8×s8 pairs in int16, "
                + $"but {saturable.Count} weight tensor(s) (for example '{saturable[0]}') can saturate there; this host ({Int8Host.Description}) computes them exactly.");
        }

        return warnings;
    }

    /// <summary>
    /// Top-1 accuracy of a single-input classifier as a fraction in [0, 1] (0.938 for 93.8%, as every score and agreement here):
    /// samples are run in batches along dimension 0 (one at a time if the model's batch dimension is fixed) and the
    /// arg-max of the first output's last axis is compared with the label.
    /// </summary>
    /// <exception cref="ArgumentException">The model has more than one input, or sample and label counts differ.</exception>
    /// <param name="model">The classifier.</param>
    /// <param name="samples">Inputs.</param>
    /// <param name="labels">One class index per sample.</param>
    /// <param name="batchSize">Samples per ONNX Runtime call when the batch dimension is free.</param>
    /// <param name="arithmetic">The int8 arithmetic to evaluate with (default: this host's).</param>
    /// <param name="configureSession">Adjusts ONNX Runtime's session options after ours (execution providers, threads); null for ours alone.</param>
    public static double Top1Accuracy(OnnxModel model, IReadOnlyList<InputTensor> samples, IReadOnlyList<int> labels, int batchSize = 100,
        Int8Arithmetic arithmetic = Int8Arithmetic.Host, Action<SessionOptions>? configureSession = null)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(labels);
        if (samples.Count != labels.Count || samples.Count == 0)
        {
            throw new ArgumentException($"Need one label per sample and at least one sample; got {samples.Count} samples and {labels.Count} labels.", nameof(labels));
        }

        return Top1(model, samples, labels, batchSize, arithmetic, configureSession);
    }

    /// <summary>Top-1 accuracy on labelled data (a folder of class subfolders, or any source with labels), a fraction in [0, 1].</summary>
    /// <exception cref="ArgumentException">The model has more than one input, or the data is empty.</exception>
    /// <param name="model">The classifier.</param>
    /// <param name="data">Samples and labels.</param>
    /// <param name="batchSize">Samples per ONNX Runtime call when the batch dimension is free.</param>
    /// <param name="arithmetic">The int8 arithmetic to evaluate with (default: this host's).</param>
    /// <param name="configureSession">Adjusts ONNX Runtime's session options after ours (execution providers, threads); null for ours alone.</param>
    public static double Top1Accuracy(OnnxModel model, LabelledData data, int batchSize = 100, Int8Arithmetic arithmetic = Int8Arithmetic.Host,
        Action<SessionOptions>? configureSession = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0)
        {
            throw new ArgumentException("The labelled data holds no samples.", nameof(data));
        }

        if (model.Inputs.Count != 1)
        {
            throw new ArgumentException($"Top-1 accuracy needs a model with one input; this one has {model.Inputs.Count}.", nameof(model));
        }

        string input = model.Inputs[0].Name;
        return Top1(model, data.Samples.GetSamples().Select(s => s.TryGetValue(input, out var t) ? t
            : throw new InvalidDataException($"A labelled sample has no value for the model's input '{input}'.")), data.Labels, batchSize, arithmetic, configureSession);
    }

    private static double Top1(OnnxModel model, IEnumerable<InputTensor> samples, IReadOnlyList<int> labels, int batchSize, Int8Arithmetic arithmetic,
        Action<SessionOptions>? configureSession)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var inputs = model.Inputs;
        if (inputs.Count != 1)
        {
            throw new ArgumentException($"Top-1 accuracy needs a model with one input; this one has {inputs.Count}.", nameof(model));
        }

        using var runner = new ModelRunner(model, arithmetic: arithmetic, configureSession: configureSession);
        int step = inputs[0].Shape.Count > 0 && inputs[0].Shape[0] is null ? batchSize : 1;
        int correct = 0, seen = 0;
        foreach (var batch in samples.Chunk(step))
        {
            var (logits, shape) = runner.Run(new Dictionary<string, InputTensor>(StringComparer.Ordinal) { [inputs[0].Name] = InputTensor.Concatenate(batch) })[runner.OutputNames[0]];
            int classes = shape.Length > 0 ? shape[^1] : 1;
            for (int i = 0; i < batch.Length; i++)
            {
                correct += Accumulator.ArgMax(logits.AsSpan(i * classes, classes)) == labels[seen + i] ? 1 : 0;
            }

            seen += batch.Length;
        }

        return (double)correct / labels.Count;
    }

    /// <summary>The sample's attention mask [B, T] (an integer input named attention_mask, as text encoders take), or null.</summary>
    private static (long[] Values, int[] Shape)? AttentionMask(IReadOnlyDictionary<string, InputTensor> sample)
    {
        if (!sample.TryGetValue("attention_mask", out var mask) || mask.Shape.Count != 2)
        {
            return null;
        }

        long[] values = mask.Data switch
        {
            long[] l => l,
            int[] i => [.. i.Select(v => (long)v)],
            _ => [],
        };
        return values.Length == mask.Shape[0] * mask.Shape[1] ? (values, [mask.Shape[0], mask.Shape[1]]) : null;
    }

    private sealed class Accumulator
    {
        private double _signal, _noise, _dot, _normA, _normB, _maxError, _pooled, _minPooled = double.PositiveInfinity;
        private long _rows, _agree, _elements, _embeddings;

        public long Count { get; private set; }

        public double Sqnr => _noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(_signal / _noise);

        public double Mse => _elements == 0 ? 0 : _noise / _elements;

        public double Cosine => _normA == 0 || _normB == 0 ? (_normA == _normB ? 1 : 0) : _dot / Math.Sqrt(_normA * _normB);

        public void Add((float[] Data, int[] Shape) reference, (float[] Data, int[] Shape) quantized, (long[] Values, int[] Shape)? mask = null)
        {
            var a = reference.Data;
            var b = quantized.Data;
            if (a.Length != b.Length)
            {
                throw new InvalidDataException($"Output lengths differ between the FP32 ({a.Length}) and quantized ({b.Length}) models.");
            }

            _elements += a.Length;
            for (int i = 0; i < a.Length; i++)
            {
                double x = a[i], y = b[i], e = x - y;
                _signal += x * x;
                _noise += e * e;
                _dot += x * y;
                _normA += x * x;
                _normB += y * y;
                _maxError = Math.Max(_maxError, Math.Abs(e));
            }

            int row = reference.Shape.Length > 0 ? reference.Shape[^1] : 1;
            if (row > 1)
            {
                for (int r = 0; r + row <= a.Length; r += row)
                {
                    _rows++;
                    if (ArgMax(a.AsSpan(r, row)) == ArgMax(b.AsSpan(r, row)))
                    {
                        _agree++;
                    }
                }
            }

            if (mask is { } m && reference.Shape is [var batch, var tokens, var width] && batch == m.Shape[0] && tokens == m.Shape[1])
            {
                for (int n = 0; n < batch; n++)
                {
                    double cosine = PooledCosine(a.AsSpan(n * tokens * width, tokens * width), b.AsSpan(n * tokens * width, tokens * width), m.Values.AsSpan(n * tokens, tokens), width);
                    _pooled += cosine;
                    _minPooled = Math.Min(_minPooled, cosine);
                    _embeddings++;
                }
            }

            Count++;
        }

        /// <summary>Cosine of the mask-aware mean-pooled token embeddings [T, H] (what sentence encoders return).</summary>
        private static double PooledCosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<long> mask, int width)
        {
            var pa = new double[width];
            var pb = new double[width];
            for (int t = 0; t < mask.Length; t++)
            {
                if (mask[t] == 0)
                {
                    continue;
                }

                for (int h = 0; h < width; h++)
                {
                    pa[h] += a[(t * width) + h];
                    pb[h] += b[(t * width) + h];
                }
            }

            double dot = 0, na = 0, nb = 0;
            for (int h = 0; h < width; h++)
            {
                dot += pa[h] * pb[h];
                na += pa[h] * pa[h];
                nb += pb[h] * pb[h];
            }

            return na == 0 || nb == 0 ? (na == nb ? 1 : 0) : dot / Math.Sqrt(na * nb);
        }

        public OutputComparison ToOutput(string name) => new(name, Sqnr, Cosine, _rows > 0 ? (double)_agree / _rows : null, _maxError)
        {
            PooledCosine = _embeddings > 0 ? _pooled / _embeddings : null,
            MinPooledCosine = _embeddings > 0 ? _minPooled : null,
        };

        public static int ArgMax(ReadOnlySpan<float> values)
        {
            int best = 0;
            for (int i = 1; i < values.Length; i++)
            {
                if (values[i] > values[best])
                {
                    best = i;
                }
            }

            return best;
        }
    }
}
