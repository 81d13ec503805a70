using Quant.Net.Kernels;
using Quant.Net.Onnx.Protobuf;
using Quant.Net.Techniques;

namespace Quant.Net.Onnx;

/// <summary>
/// SmoothQuant-style outlier migration (Xiao et al., 2023): for an activation X quantized per tensor on its way into
/// MatMul/Gemm layers with weights W, a per-channel factor s_j = max|X_j|^α / max|W_j·|^(1−α) divides X's channel j and
/// multiplies W's row j, so X·W is unchanged while X's few outlier channels shrink and the weights, quantized per output
/// channel, absorb them. The division is folded into the producer's γ and β when X comes from an affine LayerNorm that
/// nothing else reads (pre-LN transformers); otherwise a float Mul by 1/s is placed on the MatMuls' edge only (post-LN
/// BERT, whose LayerNorm output also feeds the residual Add; a GELU output).
/// </summary>
internal static class OutlierSmoothing
{
    /// <summary>Smooths the model in place; returns the activation tensors smoothed.</summary>
    /// <param name="prepared">The prepared model (modified).</param>
    /// <param name="config">The quantization config (which tensors the plan quantizes).</param>
    /// <param name="alpha">Migration strength in [0, 1] (1 moves all of an activation's range into the weights), or null to
    /// choose it per activation: the strength of {0.3, 0.4, …, 0.9} or none at all that gives the smallest relative
    /// error of the layers' outputs on the calibration rows, with activations and weights quantized as planned.</param>
    /// <param name="data">Calibration samples: per-channel activation maxima.</param>
    /// <param name="cancellationToken">Stops the calibration runs.</param>
    public static IReadOnlyList<string> Apply(OnnxModel prepared, QuantizationConfig config, double? alpha, ICalibrationDataSource data, CancellationToken cancellationToken)
    {
        var graph = prepared.Graph;
        var index = new GraphIndex(graph);
        var plan = QuantizationPlan.Build(prepared, config);
        var targets = new List<(string Tensor, List<NodeProto> Layers)>();
        foreach (var t in plan.Tensors.Where(t => t.Role == TensorRole.Activation && t.Scheme.Granularity.Kind == QuantGranularityKind.PerTensor))
        {
            var layers = index.Consumers(t.Name).Where(c => !t.FloatReaders.Contains(c.Name) && IsLinear(c, t.Name, index, plan)).ToList();
            if (layers.Count > 0 && Width(layers[0], index) is var k && layers.All(l => Width(l, index) == k))
            {
                targets.Add((t.Name, layers));
            }
        }

        if (targets.Count == 0)
        {
            return [];
        }

        var (maxima, rows) = ChannelMaxima(prepared, targets.Select(t => (t.Tensor, Width(t.Layers[0], index))).ToList(), data, cancellationToken);
        var names = new NameSet(graph);
        var smoothed = new List<string>();
        foreach (var (tensor, layers) in targets)
        {
            index = new GraphIndex(graph);
            if (!maxima.TryGetValue(tensor, out var xMax))
            {
                continue;
            }

            int k = xMax.Length;
            var wMax = new double[k];
            foreach (var layer in layers)
            {
                var (w, transposed) = Weight(layer, index);
                int n = w.Length / k;
                for (int j = 0; j < k; j++)
                {
                    for (int c = 0; c < n; c++)
                    {
                        wMax[j] = Math.Max(wMax[j], Math.Abs(transposed ? w[(c * k) + j] : w[(j * n) + c]));
                    }
                }
            }

            var strength = alpha ?? Search(wMax, rows[tensor], plan[tensor]!.Scheme, layers.Select(l => (Weight(l, index), plan[l.Input[1]]!)).ToList(), plan, index, config, cancellationToken);
            if (strength is null)
            {
                continue;
            }

            var s = Factors(xMax, wMax, strength.Value);

            foreach (var layer in layers)
            {
                ScaleWeightRows(layer, s, graph, index, names);
            }

            if (!FoldIntoProducer(tensor, s, layers, index))
            {
                string inverse = names.Make(tensor + "_smoothing");
                graph.Initializer.Add(TensorData.Create<float>(inverse, [.. s.Select(v => 1f / v)], [k]));
                string output = names.Make(tensor + "_smoothed");
                var mul = new NodeProto { Name = names.Make(tensor + "_smooth"), OpType = "Mul" };
                mul.Input.Add([tensor, inverse]);
                mul.Output.Add(output);
                graph.Node.Add(mul);
                foreach (var layer in layers)
                {
                    layer.Input[0] = output;
                }
            }

            smoothed.Add(tensor);
        }

        TopologicalOrder.Sort(graph);
        return smoothed;
    }

    private static float[] Factors(double[] xMax, double[] wMax, double alpha)
    {
        var s = new float[xMax.Length];
        for (int j = 0; j < s.Length; j++)
        {
            s[j] = xMax[j] > 0 && wMax[j] > 0 ? (float)Math.Clamp(Math.Pow(xMax[j], alpha) / Math.Pow(wMax[j], 1 - alpha), 1e-5, 1e5) : 1f;
        }

        return s;
    }

    private static readonly double?[] Strengths = [null, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

    /// <summary>
    /// The strength (null: none) whose quantized layers best reproduce X·W on held-out calibration rows: factors and
    /// activation range come from the samples of even index, the error from the others, so a strength that fits every
    /// channel's range tightly pays for the values calibration did not see.
    /// </summary>
    private static double? Search(double[] wMax, (List<float[]> Fit, List<float[]> Held) rows, QuantScheme activation,
        List<((float[] Values, bool Transposed) W, PlannedTensor Planned)> layers, QuantizationPlan plan, GraphIndex index, QuantizationConfig config,
        CancellationToken cancellationToken)
    {
        int k = wMax.Length;
        var held = rows.Held.Count > 0 ? rows.Held : rows.Fit;
        int m = held.Count;
        var xMax = new double[k];
        foreach (var row in rows.Fit)
        {
            for (int j = 0; j < k; j++)
            {
                xMax[j] = Math.Max(xMax[j], Math.Abs(row[j]));
            }
        }

        var x = new float[m * k];
        for (int r = 0; r < m; r++)
        {
            held[r].CopyTo(x, r * k);
        }

        var references = layers.Select(l =>
        {
            int n = l.W.Values.Length / k;
            var y = new float[m * n];
            Fp32Gemm.Multiply(x, m, PackedFloatWeights.Pack(l.W.Values, k, n, l.W.Transposed ? WeightLayout.NByK : WeightLayout.KByN), [], y, OutputClamp.None, -1);
            return y;
        }).ToList();
        double? best = null;
        double bestError = double.PositiveInfinity;
        var xs = new float[x.Length];
        foreach (var strength in Strengths)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var s = strength is { } a ? Factors(xMax, wMax, a) : null;
            float lo = 0, hi = 0;
            foreach (var row in rows.Fit)
            {
                for (int j = 0; j < k; j++)
                {
                    float v = s is null ? row[j] : row[j] / s[j];
                    lo = Math.Min(lo, v);
                    hi = Math.Max(hi, v);
                }
            }

            for (int i = 0; i < x.Length; i++)
            {
                xs[i] = s is null ? x[i] : x[i] / s[i % k];
            }

            QuantOps.FakeQuantize(xs, xs, QuantParams.FromRange(activation, lo, hi));
            double error = 0;
            for (int l = 0; l < layers.Count; l++)
            {
                var ((w, transposed), planned) = layers[l];
                int n = w.Length / k;
                var ws = (float[])w.Clone();
                if (s is not null)
                {
                    for (int i = 0; i < ws.Length; i++)
                    {
                        ws[i] *= s[transposed ? i % k : i / n];
                    }
                }

                int[] shape = transposed ? [n, k] : [k, n];
                var encoding = TargetArithmetic.NeedsPairSafeWeights(planned, plan, index, config)
                    ? PairwiseInt16Safety.Encode(planned.Scheme, ws, shape)
                    : QuantEncoding.FromTensor(planned.Scheme, ws, shape);
                QuantOps.FakeQuantize(ws, shape, encoding, ws);
                var y = new float[m * n];
                Fp32Gemm.Multiply(xs, m, PackedFloatWeights.Pack(ws, k, n, transposed ? WeightLayout.NByK : WeightLayout.KByN), [], y, OutputClamp.None, -1);
                double noise = 0, signal = 0;
                var reference = references[l];
                for (int i = 0; i < y.Length; i++)
                {
                    noise += (y[i] - (double)reference[i]) * (y[i] - (double)reference[i]);
                    signal += reference[i] * (double)reference[i];
                }

                error += noise / Math.Max(signal, double.Epsilon);
            }

            if (error < bestError)
            {
                (bestError, best) = (error, strength);
            }
        }

        return best;
    }

    /// <summary>A MatMul (2-D weight) or Gemm (no transA) reading <paramref name="x"/> as its first input, with a planned per-channel or per-tensor weight.</summary>
    private static bool IsLinear(NodeProto node, string x, GraphIndex index, QuantizationPlan plan) =>
        node.OpType is "MatMul" or "Gemm" && node.Input.Count >= 2 && node.Input[0] == x && node.Input[1] != x
        && index.Initializers.TryGetValue(node.Input[1], out var w) && w.Dims.Count == 2 && index.IsFloat(node.Input[1])
        && plan[node.Input[1]] is { Role: TensorRole.Weight } weight && weight.Scheme.Granularity.Kind != QuantGranularityKind.PerBlock
        && (node.OpType == "MatMul" || OpCatalog.Attribute(node, "transA", 0L) == 0);

    /// <summary>The reduction width K of a linear layer (its input's channels).</summary>
    private static int Width(NodeProto layer, GraphIndex index)
    {
        var dims = index.Initializers[layer.Input[1]].Dims;
        return (int)(layer.OpType == "Gemm" && OpCatalog.Attribute(layer, "transB", 0L) != 0 ? dims[1] : dims[0]);
    }

    private static (float[] Values, bool Transposed) Weight(NodeProto layer, GraphIndex index) =>
        (TensorData.ToFloats(index.Initializers[layer.Input[1]]), layer.OpType == "Gemm" && OpCatalog.Attribute(layer, "transB", 0L) != 0);

    /// <summary>W[j, ·] ·= s_j (a copy when other nodes share the weight).</summary>
    private static void ScaleWeightRows(NodeProto layer, float[] s, GraphProto graph, GraphIndex index, NameSet names)
    {
        var init = index.Initializers[layer.Input[1]];
        var (w, transposed) = Weight(layer, index);
        int k = s.Length, n = w.Length / k;
        for (int j = 0; j < k; j++)
        {
            for (int c = 0; c < n; c++)
            {
                w[transposed ? (c * k) + j : (j * n) + c] *= s[j];
            }
        }

        var shape = TensorData.Shape(init);
        if (graph.Node.Count(x => x.Input.Contains(init.Name)) > 1 || index.GraphOutputs.Contains(init.Name))
        {
            string copy = names.Make(init.Name + "_smoothed");
            graph.Initializer.Add(TensorData.Create<float>(copy, w, shape));
            layer.Input[1] = copy;
        }
        else
        {
            graph.Initializer.Remove(init);
            graph.Initializer.Add(TensorData.Create<float>(init.Name, w, shape));
        }
    }

    /// <summary>
    /// Divides γ and β of the producer instead of adding a Mul, when <paramref name="tensor"/> is only read by the layers
    /// (and shape readers) and comes from LayerNormalization(x, γ, β) or Add(Mul(·, γ), β) with per-channel constants nothing
    /// else reads.
    /// </summary>
    private static bool FoldIntoProducer(string tensor, float[] s, List<NodeProto> layers, GraphIndex index)
    {
        // (Readers of the shape alone do not mind the scaling.)
        if (index.GraphOutputs.Contains(tensor) || index.Consumers(tensor).Count(c => c.OpType is not ("Shape" or "Size")) != layers.Count
            || index.Producer(tensor) is not { } producer)
        {
            return false;
        }

        var affine = new List<TensorProto>();
        if (producer.OpType == "LayerNormalization" && producer.Input.Count >= 2)
        {
            affine.AddRange(producer.Input.Skip(1).Take(2).Where(i => i.Length > 0).Select(i => index.Initializers.GetValueOrDefault(i)!));
        }
        else if (producer.OpType == "Add" && producer.Input.Count == 2 && producer.Input.FirstOrDefault(index.IsInitializer) is { } beta
            && index.Producer(producer.Input[producer.Input[0] == beta ? 1 : 0]) is { OpType: "Mul", Input.Count: 2 } scale
            && index.Consumers(scale.Output[0]).Count == 1 && scale.Input.FirstOrDefault(index.IsInitializer) is { } gamma)
        {
            affine.Add(index.Initializers[gamma]);
            affine.Add(index.Initializers[beta]);
        }

        if (affine.Count == 0 || affine.Any(a => a is null || a.Dims.Count != 1 || a.Dims[0] != s.Length || !index.IsFloat(a.Name) || index.Graph.Node.Count(n => n.Input.Contains(a.Name)) != 1))
        {
            return false;
        }

        foreach (var a in affine)
        {
            var values = TensorData.ToFloats(a);
            for (int j = 0; j < s.Length; j++)
            {
                values[j] /= s[j];
            }

            var replacement = TensorData.Create<float>(a.Name, values, [s.Length]);
            index.Graph.Initializer[index.Graph.Initializer.IndexOf(a)] = replacement;
        }

        return true;
    }

    /// <summary>Calibration rows kept per activation and half (fit, held out) for the strength search.</summary>
    private const int SearchRows = 256;

    /// <summary>
    /// max |X[..., j]| per channel (last axis) of each tensor over the calibration samples, and up to
    /// <see cref="SearchRows"/> of its rows from the samples of even index and as many from the others.
    /// </summary>
    private static (Dictionary<string, double[]> Maxima, Dictionary<string, (List<float[]> Fit, List<float[]> Held)> Rows) ChannelMaxima(OnnxModel model,
        List<(string Tensor, int Width)> tensors, ICalibrationDataSource data, CancellationToken cancellationToken)
    {
        var maxima = new Dictionary<string, double[]>(StringComparer.Ordinal);
        var rows = tensors.ToDictionary(t => t.Tensor, _ => (Fit: new List<float[]>(), Held: new List<float[]>()), StringComparer.Ordinal);
        var seen = tensors.ToDictionary(t => t.Tensor, _ => new long[2], StringComparer.Ordinal);
        int sampleIndex = 0;
        using var runner = new ModelRunner(model, 0, tensors.Select(t => t.Tensor));
        foreach (var sample in data.GetSamples(cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var outputs = runner.Run(sample);
            int half = sampleIndex++ % 2;
            foreach (var (tensor, width) in tensors)
            {
                var (values, shape) = outputs[tensor];
                if (shape.Length == 0 || shape[^1] != width)
                {
                    continue;
                }

                if (!maxima.TryGetValue(tensor, out var m))
                {
                    maxima[tensor] = m = new double[width];
                }

                for (int i = 0; i < values.Length; i++)
                {
                    float v = Math.Abs(values[i]);
                    if (float.IsFinite(v) && v > m[i % width])
                    {
                        m[i % width] = v;
                    }
                }

                // Every row until the budget is full, then one in a growing stride, so that every sample contributes.
                var kept = half == 0 ? rows[tensor].Fit : rows[tensor].Held;
                for (int r = 0; r < values.Length / width; r++)
                {
                    long position = seen[tensor][half]++;
                    if (kept.Count < SearchRows)
                    {
                        kept.Add(values.AsSpan(r * width, width).ToArray());
                    }
                    else if (position % (1 + (position / SearchRows)) == 0)
                    {
                        kept[(int)(position % SearchRows)] = values.AsSpan(r * width, width).ToArray();
                    }
                }
            }
        }

        return (maxima, rows);
    }
}
