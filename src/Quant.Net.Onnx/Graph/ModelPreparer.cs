using Quant.Net.Techniques;
using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// Makes a model ready for quantization, on a copy: names every node, checks that every input is produced and sorts
/// nodes topologically, takes initializers out of the graph inputs (so runtimes treat weights as constants), turns
/// Constant nodes into initializers and computes Identity/Cast/Transpose/Reshape chains on them, makes a float16 model
/// compute in float32 (same interface), converts
/// the model to a newer opset where needed (<see cref="OpsetConverter"/>) and folds BatchNormalization into the
/// preceding Conv/Gemm.
/// </summary>
public static class ModelPreparer
{
    /// <summary>Prepares a copy of <paramref name="model"/>; the original is not changed.</summary>
    /// <param name="model">The FP32 model.</param>
    /// <param name="minimumOpset">Raise the default-domain opset to at least this (13 for per-channel Q/DQ, 21 for int4/int16).</param>
    /// <param name="foldBatchNorm">Fold BatchNormalization, and per-channel Mul/Div/Add/Sub by constants, into the preceding Conv/Gemm where possible.</param>
    /// <returns>The prepared copy and what was done.</returns>
    /// <exception cref="OnnxFormatException">A node reads a tensor nothing produces, the graph has a cycle, or an
    /// node cannot be converted to <paramref name="minimumOpset"/>; the message names the node.</exception>
    public static (OnnxModel Model, PreparationReport Report) Prepare(OnnxModel model, int minimumOpset = 13, bool foldBatchNorm = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(minimumOpset, 1);
        var copy = model.Clone();
        var graph = copy.Graph;
        int named = NameNodes(graph);
        TopologicalOrder.Sort(graph);
        RemoveInitializersFromInputs(graph);
        int float16 = Float16Conversion.Applies(graph) ? Float16Conversion.Apply(graph) : 0;
        RefuseFloat64(graph);
        var (constants, computed) = ConstantFolding.Apply(graph);
        int from = copy.OpsetVersion;
        var notes = from < minimumOpset ? OpsetConverter.Convert(copy.Proto, minimumOpset) : [];
        var folded = foldBatchNorm ? FoldBatchNorms(graph, copy.FoldedStatistics) : [];
        var scaleShifts = foldBatchNorm ? ScaleShiftFolding.Apply(graph) : [];
        int reshapes = ReshapeFolding.Apply(graph);
        return (copy, new PreparationReport(from, copy.OpsetVersion, folded, named)
        {
            OpsetNotes = notes, ConstantNodes = constants, FoldedNodes = computed, FoldedScaleShifts = scaleShifts, Float16Changes = float16, FoldedReshapes = reshapes,
        });
    }

    /// <summary>
    /// The part of <see cref="Prepare"/> that never reads weights, done in place on a model whose large tensors may still
    /// be in their files (streaming): nodes named, sorted, initializers dropped from the inputs, opset raised to
    /// <paramref name="minimumOpset"/>. No folding of any kind.
    /// </summary>
    internal static void PrepareStructure(OnnxModel model, int minimumOpset)
    {
        var graph = model.Graph;
        NameNodes(graph);
        RefuseFloat64(graph);
        TopologicalOrder.Sort(graph);
        RemoveInitializersFromInputs(graph);
        if (model.OpsetVersion < minimumOpset)
        {
            OpsetConverter.Convert(model.Proto, minimumOpset);
        }
    }

    /// <summary>
    /// A float64 model would come out with nothing quantized (its tensors are not float32): refused up front, naming the
    /// first float64 weight of a Conv/Gemm/MatMul, or the float64 graph input (with float64 weights, or feeding such a layer).
    /// </summary>
    private static void RefuseFloat64(GraphProto graph)
    {
        const int Double = (int)TensorProto.Types.DataType.Double;
        var doubles = graph.Initializer.Where(t => t.DataType == Double).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var node = graph.Node.FirstOrDefault(n => n.OpType is "Conv" or "Gemm" or "MatMul" or "ConvTranspose" && n.Input.Count > 1 && doubles.Contains(n.Input[1]));
        if (node is not null)
        {
            throw new NotSupportedException($"Weight '{node.Input[1]}' of node '{node.Name}' ({node.OpType}) is float64: float64 models are not quantized. Convert the model to float32 first.");
        }

        if (graph.Input.FirstOrDefault(i => i.Type?.TensorType?.ElemType == Double && !doubles.Contains(i.Name)) is { } input && doubles.Count > 0)
        {
            throw new NotSupportedException($"Input '{input.Name}' and the model's weights are float64: float64 models are not quantized. Convert the model to float32 first.");
        }

        // A float64 input straight into a layer with float32 weights is a type error ONNX Runtime refuses; dynamic
        // quantization never runs the model, so it is refused here instead of written out.
        var inputs = graph.Input.Where(i => i.Type?.TensorType?.ElemType == Double && !doubles.Contains(i.Name)).Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        if (graph.Node.FirstOrDefault(n => n.OpType is "Conv" or "Gemm" or "MatMul" or "ConvTranspose" && n.Input.Any(inputs.Contains)) is { } consumer)
        {
            throw new NotSupportedException($"Input '{consumer.Input.First(inputs.Contains)}' is float64 and feeds node '{consumer.Name}' ({consumer.OpType}), whose weights are not: float64 models are not quantized. Convert the model to float32 first.");
        }
    }

    private static int NameNodes(GraphProto graph)
    {
        var used = graph.Node.Where(n => n.Name.Length > 0).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        int named = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < graph.Node.Count; i++)
        {
            var node = graph.Node[i];
            if (node.Name.Length > 0 && seen.Add(node.Name))
            {
                continue;
            }

            string baseName = node.Name.Length > 0 ? node.Name : $"{node.OpType}_{i}";
            string name = baseName;
            for (int k = 1; used.Contains(name) && name != node.Name || !seen.Add(name); k++)
            {
                name = $"{baseName}_{k}";
            }

            used.Add(name);
            node.Name = name;
            named++;
        }

        return named;
    }
    private static void RemoveInitializersFromInputs(GraphProto graph)
    {
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var keep = graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        graph.Input.Clear();
        graph.Input.AddRange(keep);
    }

    private static List<string> FoldBatchNorms(GraphProto graph, Dictionary<string, (float[] Beta, float[] Gamma)> statistics)
    {
        var folded = new List<string>();
        var index = new GraphIndex(graph);
        foreach (var bn in graph.Node.Where(n => n.OpType == "BatchNormalization" && n.Domain is "" or "ai.onnx").ToList())
        {
            if (bn.Input.Count < 5 || OpCatalog.Attribute(bn, "training_mode", 0L) != 0 || OpCatalog.Attribute(bn, "spatial", 1L) != 1
                || bn.Output.Skip(1).Any(o => o.Length > 0 && index.Consumers(o).Count > 0 || index.GraphOutputs.Contains(o))
                || index.Producer(bn.Input[0]) is not { OpType: "Conv" or "Gemm", Input.Count: >= 2 } producer
                || index.Consumers(bn.Input[0]).Count != 1 || index.GraphOutputs.Contains(bn.Input[0])
                || !bn.Input.Skip(1).Take(4).All(index.IsInitializer)
                || !index.Initializers.TryGetValue(producer.Input[1], out var weight) || (TensorProto.Types.DataType)weight.DataType != TensorProto.Types.DataType.Float)
            {
                continue;
            }

            var gamma = TensorData.ToFloats(index.Initializers[bn.Input[1]]);
            var beta = TensorData.ToFloats(index.Initializers[bn.Input[2]]);
            var mean = TensorData.ToFloats(index.Initializers[bn.Input[3]]);
            var variance = TensorData.ToFloats(index.Initializers[bn.Input[4]]);
            float epsilon = OpCatalog.Attribute(bn, "epsilon", 1e-5f);
            int channels = gamma.Length;
            if (beta.Length != channels || mean.Length != channels || variance.Length != channels)
            {
                throw new OnnxFormatException($"BatchNormalization '{bn.Name}': scale, bias, mean and variance lengths differ ({channels}, {beta.Length}, {mean.Length}, {variance.Length}).");
            }

            for (int c = 0; c < channels; c++)
            {
                // sqrt(variance + ε) of a negative or non-finite variance would put NaN into every folded weight.
                if (!(variance[c] + epsilon > 0) || !float.IsFinite(variance[c]) || !float.IsFinite(mean[c]) || !float.IsFinite(gamma[c]) || !float.IsFinite(beta[c]))
                {
                    throw new OnnxFormatException($"BatchNormalization '{bn.Name}' channel {c}: variance {variance[c]}, mean {mean[c]}, scale {gamma[c]}, bias {beta[c]}; the variance plus epsilon must be positive and every statistic finite.");
                }
            }

            var w = TensorData.ToFloats(weight);
            var shape = TensorData.Shape(weight);
            bool gemm = producer.OpType == "Gemm";
            bool transB = gemm && OpCatalog.Attribute(producer, "transB", 0L) != 0;
            if (gemm && (shape.Length != 2 || OpCatalog.Attribute(producer, "transA", 0L) != 0))
            {
                continue;
            }

            int outAxis = gemm && !transB ? 1 : 0;
            if (shape.Length <= outAxis || shape[outAxis] != channels)
            {
                continue;
            }

            float gemmBeta = gemm ? OpCatalog.Attribute(producer, "beta", 1f) : 1f;
            float[]? bias = null;
            if (producer.Input.Count > 2 && producer.Input[2].Length > 0)
            {
                if (!index.Initializers.TryGetValue(producer.Input[2], out var b))
                {
                    continue;
                }

                bias = TensorData.ToFloats(b);
                if (bias.Length != channels)
                {
                    continue; // a broadcast scalar or [N, F] bias: leave the BatchNorm in place
                }
            }

            var newBias = new float[channels];
            for (int c = 0; c < channels; c++)
            {
                newBias[c] = bias is null ? 0f : (float)((double)bias[c] * gemmBeta);
            }

            BatchNormFolding.Fold(w, shape, outAxis, newBias, gamma, beta, mean, variance, epsilon);
            string wName = Unique(graph, producer.Input[1] + "_bn_folded");
            string bName = Unique(graph, (producer.Input.Count > 2 && producer.Input[2].Length > 0 ? producer.Input[2] : producer.Name + "_bias") + "_bn_folded");
            graph.Initializer.Add(TensorData.Create<float>(wName, w, shape));
            graph.Initializer.Add(TensorData.Create<float>(bName, newBias, [channels]));
            string oldWeight = producer.Input[1];
            string? oldBias = producer.Input.Count > 2 && producer.Input[2].Length > 0 ? producer.Input[2] : null;
            producer.Input[1] = wName;
            while (producer.Input.Count < 3)
            {
                producer.Input.Add("");
            }

            producer.Input[2] = bName;
            if (gemm)
            {
                var betaAttr = producer.Attribute.FirstOrDefault(a => a.Name == "beta");
                if (betaAttr is not null)
                {
                    betaAttr.F = 1f;
                }
            }

            producer.Output[0] = bn.Output[0];
            statistics[bn.Output[0]] = (beta, gamma);
            graph.Node.Remove(bn);
            index = new GraphIndex(graph);
            foreach (var name in new[] { oldWeight, oldBias, bn.Input[1], bn.Input[2], bn.Input[3], bn.Input[4] })
            {
                if (name is not null && index.Consumers(name).Count == 0 && !index.GraphOutputs.Contains(name))
                {
                    var init = graph.Initializer.FirstOrDefault(i => i.Name == name);
                    if (init is not null)
                    {
                        graph.Initializer.Remove(init);
                    }
                }
            }

            index = new GraphIndex(graph);
            folded.Add(bn.Name);
        }

        return folded;
    }

    internal static string Unique(GraphProto graph, string name)
    {
        var names = graph.Initializer.Select(i => i.Name).Concat(graph.Node.SelectMany(n => n.Output)).Concat(graph.Input.Select(i => i.Name))
            .ToHashSet(StringComparer.Ordinal);
        string candidate = name;
        for (int k = 1; names.Contains(candidate); k++)
        {
            candidate = $"{name}_{k}";
        }

        return candidate;
    }
}
