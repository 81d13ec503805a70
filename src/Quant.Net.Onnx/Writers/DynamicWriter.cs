using Quant.Net.Techniques;
using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// Dynamic quantization of MatMul/Gemm with constant weights: weights stored int8 (symmetric, per output column or per
/// tensor), activations quantized at run time by DynamicQuantizeLinear, then MatMulInteger → Cast → Mul by
/// (activation scale × weight scale) — the pattern ONNX Runtime fuses into MatMulIntegerToFloat. LSTMs with constant
/// weights become ONNX Runtime's DynamicQuantizeLSTM (as its dynamic quantizer does).
/// </summary>
internal static class DynamicWriter
{
    public static (OnnxModel Model, List<TensorEncoding> Weights, List<string> Nodes) Write(OnnxModel prepared, QuantizationConfig config)
    {
        var model = prepared.Clone();
        var graph = model.Graph;
        var index = new GraphIndex(graph);
        var names = new NameSet(graph);
        var excluded = config.ExcludedNodes.ToHashSet(StringComparer.Ordinal);
        var weights = new List<TensorEncoding>();
        var quantized = new List<string>();
        foreach (var node in graph.Node.ToList())
        {
            if (node.OpType == "LSTM" && !excluded.Contains(node.Name) && node.Domain is "" or "ai.onnx" && Lstm(graph, index, names, node, config, weights))
            {
                quantized.Add(node.Name);
                continue;
            }

            if (node.OpType == "Gather" && !excluded.Contains(node.Name) && node.Domain is "" or "ai.onnx" && EmbeddingWriter.TryWrite(graph, index, names, node) is { } embedding)
            {
                weights.Add(embedding);
                quantized.Add(node.Name);
                continue;
            }

            if (node.OpType is not ("MatMul" or "Gemm") || excluded.Contains(node.Name) || node.Input.Count < 2
                || !index.Initializers.TryGetValue(node.Input[1], out var init) || init.Dims.Count != 2 || !index.IsFloat(node.Input[1])
                || index.IsInitializer(node.Input[0]) || !index.IsFloat(node.Input[0])
                || (node.OpType == "Gemm" && OpCatalog.Attribute(node, "transA", 0L) != 0))
            {
                continue;
            }

            bool transB = node.OpType == "Gemm" && OpCatalog.Attribute(node, "transB", 0L) != 0;
            var w = TensorData.ToFloats(init);
            var shape = TensorData.Shape(init);
            int k = transB ? shape[1] : shape[0], n = transB ? shape[0] : shape[1];
            if (transB)
            {
                w = TensorData.Transpose(w, n, k);
            }

            bool perChannel = config.For(node.OpType).PerChannelWeights ?? config.PerChannelWeights;
            var scheme = new QuantScheme(8, true, true, true, perChannel ? QuantGranularity.PerChannel(1) : QuantGranularity.PerTensor);
            // DynamicQuantizeLinear makes uint8 activations: on targets whose u8s8 kernels pair products in int16, keep pairs in range.
            var encoding = DeploymentTargets.AccumulatesExactly(config.Target) ? QuantEncoding.FromTensor(scheme, w, [k, n]) : PairwiseInt16Safety.Encode(scheme, w, [k, n]);
            var codes = new sbyte[w.Length];
            QuantOps.Quantize<sbyte>(w, [k, n], encoding, codes);
            string baseName = node.Input[1];
            string wq = names.Make(baseName + "_quantized"), wz = names.Make(baseName + "_zero_point"), ws = names.Make(baseName + "_scale");
            graph.Initializer.Add(TensorData.Create<sbyte>(wq, codes, [k, n]));
            graph.Initializer.Add(TensorData.Create<sbyte>(wz, new sbyte[encoding.Count], perChannel ? [n] : []));
            float alpha = node.OpType == "Gemm" ? OpCatalog.Attribute(node, "alpha", 1f) : 1f;
            graph.Initializer.Add(TensorData.Create<float>(ws, [.. encoding.Scales.ToArray().Select(s => s * alpha)], perChannel ? [n] : []));
            weights.Add(new TensorEncoding(new PlannedTensor(baseName, TensorRole.Weight, scheme, node.Name), encoding));

            string x = node.Input[0], y = node.Output[0];
            string xq = names.Make(x + "_quantized"), xs = names.Make(x + "_scale"), xz = names.Make(x + "_zero_point");
            string acc = names.Make(y + "_int32"), accf = names.Make(y + "_int32_float"), scale = names.Make(y + "_scale");
            bool hasBias = node.OpType == "Gemm" && node.Input.Count > 2 && node.Input[2].Length > 0;
            string product = hasBias ? names.Make(y + "_without_bias") : y;
            var nodes = new List<NodeProto>
            {
                Node("DynamicQuantizeLinear", names.Make(node.Name + "_DynamicQuantizeLinear"), [x], [xq, xs, xz]),
                Node("MatMulInteger", names.Make(node.Name + "_MatMulInteger"), [xq, wq, xz, wz], [acc]),
                Node("Cast", names.Make(node.Name + "_Cast"), [acc], [accf]),
                Node("Mul", names.Make(node.Name + "_ScaleProduct"), [xs, ws], [scale]),
                Node("Mul", names.Make(node.Name + "_Rescale"), [accf, scale], [product]),
            };
            nodes[2].Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)TensorProto.Types.DataType.Float });
            if (hasBias)
            {
                string bias = node.Input[2];
                float beta = OpCatalog.Attribute(node, "beta", 1f);
                if (beta != 1f)
                {
                    if (!index.Initializers.TryGetValue(bias, out var b))
                    {
                        continue;
                    }

                    string scaled = names.Make(bias + "_times_beta");
                    graph.Initializer.Add(TensorData.Create<float>(scaled, [.. TensorData.ToFloats(b).Select(v => v * beta)], TensorData.Shape(b)));
                    bias = scaled;
                }

                nodes.Add(Node("Add", names.Make(node.Name + "_Bias"), [product, bias], [y]));
            }

            int position = graph.Node.IndexOf(node);
            graph.Node.RemoveAt(position);
            for (int i = 0; i < nodes.Count; i++)
            {
                graph.Node.Insert(position + i, nodes[i]);
            }

            quantized.Add(node.Name);
        }

        // Float weights no longer read by any node (or subgraph) are dropped.
        GraphReads.DropUnusedInitializers(graph);

        if (graph.Node.Any(n => n.Domain == "com.microsoft") && !model.Proto.OpsetImport.Any(o => o.Domain == "com.microsoft"))
        {
            model.Proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        }

        QdqWriter.Finish(model, 13);
        return (model, weights, quantized);
    }

    /// <summary>
    /// An LSTM with constant W [dirs, 4·hidden, input] and R [dirs, 4·hidden, hidden] becomes ONNX Runtime's
    /// com.microsoft DynamicQuantizeLSTM: int8 weights per gate row (or per tensor), stored transposed to
    /// [dirs, input, 4·hidden] as its kernel reads them, activations quantized to uint8 at run time inside the op.
    /// </summary>
    private static bool Lstm(GraphProto graph, GraphIndex index, NameSet names, NodeProto node, QuantizationConfig config, List<TensorEncoding> weights)
    {
        if (node.Input.Count < 3 || !index.Initializers.TryGetValue(node.Input[1], out var w) || !index.Initializers.TryGetValue(node.Input[2], out var r)
            || w.Dims.Count != 3 || r.Dims.Count != 3 || !index.IsFloat(node.Input[1]) || !index.IsFloat(node.Input[2]) || OpCatalog.Attribute(node, "layout", 0L) != 0)
        {
            return false;
        }

        bool perChannel = config.For("LSTM").PerChannelWeights ?? config.PerChannelWeights;
        var inputs = new List<string> { node.Input[0] };
        var scalesAndZeroPoints = new List<string>();
        foreach (var init in new[] { w, r })
        {
            var shape = TensorData.Shape(init);
            int dirs = shape[0], rows = shape[1], cols = shape[2];
            var values = TensorData.ToFloats(init);
            var scheme = new QuantScheme(8, true, true, true, perChannel ? QuantGranularity.PerChannel(0) : QuantGranularity.PerTensor);
            int[] flat = [dirs * rows, cols];
            var encoding = DeploymentTargets.AccumulatesExactly(config.Target) ? QuantEncoding.FromTensor(scheme, values, flat)
                : PairwiseInt16Safety.Encode(scheme, values, flat);
            var codes = new sbyte[values.Length];
            QuantOps.Quantize<sbyte>(values, flat, encoding, codes);
            var transposed = new sbyte[codes.Length];
            for (int d = 0; d < dirs; d++)
            {
                TensorData.Transpose(codes[(d * rows * cols)..((d + 1) * rows * cols)], rows, cols).CopyTo(transposed, d * rows * cols);
            }

            string q = names.Make(init.Name + "_quantized"), sc = names.Make(init.Name + "_scale"), zp = names.Make(init.Name + "_zero_point");
            graph.Initializer.Add(TensorData.Create<sbyte>(q, transposed, [dirs, cols, rows]));
            graph.Initializer.Add(TensorData.Create<float>(sc, encoding.Scales, perChannel ? [dirs, rows] : []));
            graph.Initializer.Add(TensorData.Create<sbyte>(zp, new sbyte[encoding.Count], perChannel ? [dirs, rows] : []));
            inputs.Add(q);
            scalesAndZeroPoints.AddRange([sc, zp]);
            weights.Add(new TensorEncoding(new PlannedTensor(init.Name, TensorRole.Weight, scheme, node.Name), encoding));
        }

        for (int i = 3; i < 8; i++)
        {
            inputs.Add(node.Input.Count > i ? node.Input[i] : "");
        }

        inputs.AddRange(scalesAndZeroPoints);
        node.OpType = "DynamicQuantizeLSTM";
        node.Domain = "com.microsoft";
        node.Input.Clear();
        node.Input.Add(inputs);
        if (node.Attribute.FirstOrDefault(a => a.Name == "layout") is { } layout)
        {
            node.Attribute.Remove(layout);
        }

        return true;
    }

    private static NodeProto Node(string op, string name, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        return node;
    }
}
