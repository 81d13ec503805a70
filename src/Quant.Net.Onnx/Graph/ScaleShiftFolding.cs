using Quant.Net.Onnx.Protobuf;
using DataType = Quant.Net.Onnx.Protobuf.TensorProto.Types.DataType;

namespace Quant.Net.Onnx;

/// <summary>
/// Per-channel scale and shift after a Conv or Gemm, as exporters write a learned affine or a decomposed BatchNorm
/// (Mul, Div, Add or Sub by a constant of one value per output channel, or one value for all): folded into the
/// layer's weights and bias, so that no quantizer sits between the layer and its scale. Weights shared with other
/// nodes are copied, never changed in place.
/// </summary>
internal static class ScaleShiftFolding
{
    /// <returns>Names of the folded Mul/Div/Add/Sub nodes.</returns>
    public static List<string> Apply(GraphProto graph)
    {
        var folded = new List<string>();
        bool changed = true;
        while (changed)
        {
            changed = false;
            var index = new GraphIndex(graph);
            foreach (var node in graph.Node.Where(n => n.OpType is "Mul" or "Div" or "Add" or "Sub" && n.Domain is "" or "ai.onnx" && n.Input.Count == 2))
            {
                if (TryFold(graph, index, node))
                {
                    folded.Add(node.Name);
                    changed = true;
                    break;
                }
            }
        }

        return folded;
    }

    private static bool TryFold(GraphProto graph, GraphIndex index, NodeProto node)
    {
        // The layer's output must be input 0 (or, for Mul/Add, either input) and read by this node alone.
        int layerInput = index.Producer(node.Input[0]) is { OpType: "Conv" or "Gemm" } ? 0
            : node.OpType is "Mul" or "Add" && index.Producer(node.Input[1]) is { OpType: "Conv" or "Gemm" } ? 1 : -1;
        if (layerInput < 0)
        {
            return false;
        }

        string between = node.Input[layerInput];
        var layer = index.Producer(between)!;
        if (index.Consumers(between).Count != 1 || index.GraphOutputs.Contains(between) || layer.Output.Count != 1
            || !index.Initializers.TryGetValue(node.Input[1 - layerInput], out var constant) || (DataType)constant.DataType != DataType.Float
            || layer.Input.Count < 2 || !index.Initializers.TryGetValue(layer.Input[1], out var weight) || (DataType)weight.DataType != DataType.Float)
        {
            return false;
        }

        bool gemm = layer.OpType == "Gemm";
        var shape = TensorData.Shape(weight);
        if (gemm && (shape.Length != 2 || OpCatalog.Attribute(layer, "transA", 0L) != 0))
        {
            return false;
        }

        int outAxis = gemm && OpCatalog.Attribute(layer, "transB", 0L) == 0 ? 1 : 0;
        int channels = shape[outAxis];
        var values = PerChannel(constant, channels, gemm);
        if (values is null || (node.OpType == "Div" && values.Any(v => v == 0f || !float.IsFinite(v))))
        {
            return false;
        }

        float[]? bias = null;
        if (layer.Input.Count > 2 && layer.Input[2].Length > 0)
        {
            if (!index.Initializers.TryGetValue(layer.Input[2], out var b) || (DataType)b.DataType != DataType.Float)
            {
                return false;
            }

            bias = TensorData.ToFloats(b);
            if (bias.Length != channels)
            {
                return false;
            }

            float beta = gemm ? OpCatalog.Attribute(layer, "beta", 1f) : 1f;
            for (int c = 0; c < channels; c++)
            {
                bias[c] *= beta;
            }
        }

        bias ??= new float[channels];
        var w = TensorData.ToFloats(weight);
        if (node.OpType is "Mul" or "Div")
        {
            int inner = w.Length / channels;
            for (int i = 0; i < w.Length; i++)
            {
                int c = outAxis == 0 ? i / inner : i % channels;
                w[i] = node.OpType == "Mul" ? w[i] * values[c] : w[i] / values[c];
            }

            for (int c = 0; c < channels; c++)
            {
                bias[c] = node.OpType == "Mul" ? bias[c] * values[c] : bias[c] / values[c];
            }

            Replace(graph, layer, 1, TensorData.Create<float>($"{layer.Input[1]}_scaled", w, shape));
        }
        else
        {
            // x - c and x + c shift the bias; c - x would negate the layer and is left alone.
            if (node.OpType == "Sub" && layerInput != 0)
            {
                return false;
            }

            for (int c = 0; c < channels; c++)
            {
                bias[c] = node.OpType == "Add" ? bias[c] + values[c] : bias[c] - values[c];
            }
        }

        while (layer.Input.Count < 3)
        {
            layer.Input.Add("");
        }

        Replace(graph, layer, 2, TensorData.Create<float>($"{(layer.Input[2].Length > 0 ? layer.Input[2] : layer.Name + "_bias")}_shifted", bias, [channels]));
        if (gemm && layer.Attribute.FirstOrDefault(a => a.Name == "beta") is { } betaAttribute)
        {
            betaAttribute.F = 1f;
        }

        layer.Output[0] = node.Output[0];
        graph.Node.Remove(node);
        GraphReads.DropUnusedInitializers(graph);
        return true;
    }

    /// <summary>One value per output channel (shape [C], [C,1,1], [1,C,1,1] for Conv; [C] or [1,C] for Gemm) or one for all.</summary>
    private static float[]? PerChannel(TensorProto constant, int channels, bool gemm)
    {
        var dims = TensorData.Shape(constant);
        var v = TensorData.ToFloats(constant);
        if (v.Length == 1)
        {
            return [.. Enumerable.Repeat(v[0], channels)];
        }

        if (v.Length != channels)
        {
            return null;
        }

        // The channel axis must be where the layer's output has it: last for Gemm, second (or first of a 3-D [C,1,1]) for Conv.
        int at = Array.IndexOf(dims, channels);
        bool ok = gemm ? at == dims.Length - 1 : dims.Length >= 3 && at == dims.Length - 3 && dims.Skip(at + 1).All(d => d == 1) && dims.Take(at).All(d => d == 1);
        return ok ? v : null;
    }

    private static void Replace(GraphProto graph, NodeProto layer, int input, TensorProto tensor)
    {
        tensor.Name = ModelPreparer.Unique(graph, tensor.Name);
        graph.Initializer.Add(tensor);
        layer.Input[input] = tensor.Name;
    }
}
