using Quant.Net.Onnx.Protobuf;
using Quant.Net.Techniques;

namespace Quant.Net.Onnx;

/// <summary>
/// Applies <see cref="CrossLayerEqualization"/> to every Conv/Gemm → [Relu] → Conv/Gemm pair of a prepared model
/// (repeated until the scales settle, so chains equalize), then high-bias absorption where the first layer's
/// BatchNorm statistics are known.
/// </summary>
internal static class CrossLayerEqualizer
{
    private sealed record Pair(NodeProto First, NodeProto Second, bool Relu, bool SecondDepthwise);

    public static int Apply(OnnxModel model, bool absorbHighBias, int maxPasses = 50)
    {
        var graph = model.Graph;
        var index = new GraphIndex(graph);
        var pairs = FindPairs(graph, index);
        if (pairs.Count == 0)
        {
            return 0;
        }

        var weights = new Dictionary<string, float[]>(StringComparer.Ordinal);
        float[] Data(string name) => weights.TryGetValue(name, out var w) ? w : weights[name] = TensorData.ToFloats(index.Initializers[name]);
        foreach (var pair in pairs)
        {
            EnsureBias(graph, pair.First, Channels(pair.First, index));
            EnsureBias(graph, pair.Second, Channels(pair.Second, index));
        }

        index = new GraphIndex(graph);
        var statistics = model.FoldedStatistics.ToDictionary(kv => kv.Key, kv => ((float[])kv.Value.Beta.Clone(), (float[])kv.Value.Gamma.Clone()), StringComparer.Ordinal);
        for (int pass = 0; pass < maxPasses; pass++)
        {
            float change = 0;
            foreach (var pair in pairs)
            {
                int channels = Channels(pair.First, index);
                var first = Rows(pair.First, Data(pair.First.Input[1]), index, out bool firstTransposed);
                var second = SecondLayout(pair.Second, Data(pair.Second.Input[1]), index, channels, out int inner, out bool secondTransposed);
                var bias = Data(pair.First.Input[2]);
                var scales = CrossLayerEqualization.EqualizePair(first, channels, bias, second, inner, pair.SecondDepthwise);
                Store(pair.First, first, firstTransposed, weights, index);
                StoreSecond(pair.Second, second, secondTransposed, weights, index, channels);
                if (statistics.TryGetValue(pair.First.Output[0], out var stats))
                {
                    for (int c = 0; c < channels; c++)
                    {
                        stats.Item1[c] /= scales[c];
                        stats.Item2[c] /= scales[c];
                    }
                }

                change = Math.Max(change, scales.Max(s => Math.Abs(MathF.Log(s))));
            }

            if (change < 1e-4f)
            {
                break;
            }
        }

        if (absorbHighBias)
        {
            foreach (var pair in pairs.Where(p => p.Relu && statistics.ContainsKey(p.First.Output[0])))
            {
                var (beta, gamma) = statistics[pair.First.Output[0]];
                int channels = Channels(pair.First, index);
                var second = SecondLayout(pair.Second, Data(pair.Second.Input[1]), index, channels, out int inner, out _);
                CrossLayerEqualization.AbsorbHighBias(Data(pair.First.Input[2]), beta, gamma, second, inner, Data(pair.Second.Input[2]), pair.SecondDepthwise);
            }
        }

        foreach (var (name, stats) in statistics)
        {
            model.FoldedStatistics[name] = stats;
        }

        foreach (var (name, data) in weights)
        {
            var old = index.Initializers[name];
            int at = graph.Initializer.IndexOf(old);
            graph.Initializer[at] = TensorData.Create<float>(name, data, TensorData.Shape(old));
        }

        return pairs.Count;
    }

    private static List<Pair> FindPairs(GraphProto graph, GraphIndex index)
    {
        var pairs = new List<Pair>();
        bool Layer(NodeProto n) => n.OpType is "Conv" or "Gemm" && n.Domain is "" or "ai.onnx" && n.Input.Count >= 2 && index.IsInitializer(n.Input[1])
            && index.IsFloat(n.Input[1]) && (n.Input.Count < 3 || n.Input[2].Length == 0 || index.IsInitializer(n.Input[2]))
            && (n.OpType != "Gemm" || OpCatalog.Attribute(n, "transA", 0L) == 0);
        foreach (var first in graph.Node.Where(Layer))
        {
            string t = first.Output[0];
            if (index.GraphOutputs.Contains(t) || index.Consumers(t) is not [var next])
            {
                continue;
            }

            bool relu = next.OpType == "Relu";
            if (relu && (index.GraphOutputs.Contains(next.Output[0]) || index.Consumers(next.Output[0]) is not [var afterRelu] || (next = afterRelu) is null))
            {
                continue;
            }

            if (!Layer(next) || next.OpType != first.OpType && !(first.OpType == "Gemm" && next.OpType == "Gemm"))
            {
                continue;
            }

            int channels = Channels(first, index);
            if (next.OpType == "Conv")
            {
                long group = OpCatalog.Attribute(next, "group", 1L);
                var w2 = index.Initializers[next.Input[1]];
                bool depthwise = group == channels && group > 1 && w2.Dims[1] == 1;
                if (!(group == 1 && w2.Dims[1] == channels) && !depthwise)
                {
                    continue;
                }

                pairs.Add(new Pair(first, next, relu, depthwise));
            }
            else
            {
                pairs.Add(new Pair(first, next, relu, false));
            }
        }

        return pairs;
    }

    private static int Channels(NodeProto layer, GraphIndex index)
    {
        var w = index.Initializers[layer.Input[1]];
        return layer.OpType == "Gemm" && OpCatalog.Attribute(layer, "transB", 0L) == 0 ? (int)w.Dims[1] : (int)w.Dims[0];
    }

    private static void EnsureBias(GraphProto graph, NodeProto layer, int outputs)
    {
        if (layer.Input.Count > 2 && layer.Input[2].Length > 0)
        {
            return;
        }

        string name = ModelPreparer.Unique(graph, layer.Name + "_bias");
        graph.Initializer.Add(TensorData.Create<float>(name, new float[outputs], [outputs]));
        while (layer.Input.Count < 3)
        {
            layer.Input.Add("");
        }

        layer.Input[2] = name;
    }

    /// <summary>The first layer's weights with output channels as rows (a transB = 0 Gemm's [in, out] is transposed).</summary>
    private static float[] Rows(NodeProto layer, float[] data, GraphIndex index, out bool transposed)
    {
        var w = index.Initializers[layer.Input[1]];
        transposed = layer.OpType == "Gemm" && OpCatalog.Attribute(layer, "transB", 0L) == 0;
        return transposed ? TensorData.Transpose(data, (int)w.Dims[0], (int)w.Dims[1]) : data;
    }

    private static void Store(NodeProto layer, float[] rows, bool transposed, Dictionary<string, float[]> weights, GraphIndex index)
    {
        var w = index.Initializers[layer.Input[1]];
        weights[layer.Input[1]] = transposed ? TensorData.Transpose(rows, (int)w.Dims[1], (int)w.Dims[0]) : rows;
    }

    /// <summary>The second layer's weights as [outputs, channels, inner].</summary>
    private static float[] SecondLayout(NodeProto layer, float[] data, GraphIndex index, int channels, out int inner, out bool transposed)
    {
        var w = index.Initializers[layer.Input[1]];
        transposed = false;
        if (layer.OpType == "Conv")
        {
            inner = (int)(w.Dims.Skip(2).Aggregate(1L, (a, b) => a * b));
            return data;
        }

        inner = 1;
        transposed = OpCatalog.Attribute(layer, "transB", 0L) == 0; // [in = channels, out]
        return transposed ? TensorData.Transpose(data, channels, (int)w.Dims[1]) : data;
    }

    private static void StoreSecond(NodeProto layer, float[] data, bool transposed, Dictionary<string, float[]> weights, GraphIndex index, int channels)
    {
        var w = index.Initializers[layer.Input[1]];
        weights[layer.Input[1]] = transposed ? TensorData.Transpose(data, (int)w.Dims[1], channels) : data;
    }
}
