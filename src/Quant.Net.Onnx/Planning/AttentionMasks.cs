using Quant.Net.Onnx.Protobuf;
using DataType = Quant.Net.Onnx.Protobuf.TensorProto.Types.DataType;

namespace Quant.Net.Onnx;

/// <summary>
/// Attention masks: float tensors computed from integer or boolean model inputs and constants only — the
/// <c>(1 − mask) · −10000</c> of a BERT export — and the nodes that apply them (an Add, Sub, Mul or Where with such an
/// input). Neither gets a quantizer: a uint8 range of [−10000, 10] would leave attention scores no resolution. The
/// masked scores then enter Softmax in float, and Softmax's output is quantized with the fixed [0, 1] encoding.
/// </summary>
internal static class AttentionMasks
{
    /// <summary>The mask tensors and masked sums, and the nodes that compute or apply them.</summary>
    public static (HashSet<string> Tensors, HashSet<string> Nodes) Find(GraphIndex index)
    {
        var derived = new HashSet<string>(StringComparer.Ordinal);
        foreach (var input in index.Graph.Input.Where(i => index.GraphInputs.Contains(i.Name)))
        {
            if (index.Types.TryGetValue(input.Name, out var t) && t is not (DataType.Float or DataType.Float16 or DataType.Double or DataType.Bfloat16))
            {
                derived.Add(input.Name);
            }
        }

        var tensors = new HashSet<string>(StringComparer.Ordinal);
        var nodes = new HashSet<string>(StringComparer.Ordinal);
        if (derived.Count == 0)
        {
            return (tensors, nodes);
        }

        foreach (var node in index.Graph.Node)
        {
            var inputs = node.Input.Where(i => i.Length > 0).ToList();
            // Constants: any integer initializer (shapes, axes), float ones only as scalars — a Gather from an embedding
            // table reads data, not a mask.
            if (inputs.Count > 0 && inputs.All(i => derived.Contains(i) || IsConstantParameter(index, i)) && inputs.Any(derived.Contains))
            {
                derived.UnionWith(node.Output.Where(o => o.Length > 0));
                if (node.Output.Any(index.IsFloat))
                {
                    nodes.Add(node.Name);
                    tensors.UnionWith(node.Output.Where(index.IsFloat));
                }
            }
        }

        // The nodes applying a float mask to activations: their outputs (masked scores) stay float too.
        foreach (var node in index.Graph.Node.Where(n => n.OpType is "Add" or "Sub" or "Mul" or "Where" && n.Input.Any(tensors.Contains) && !nodes.Contains(n.Name)))
        {
            nodes.Add(node.Name);
            tensors.UnionWith(node.Output.Where(index.IsFloat));
        }

        return (tensors, nodes);
    }

    private static bool IsConstantParameter(GraphIndex index, string tensor) =>
        index.Initializers.TryGetValue(tensor, out var t) && (!index.IsFloat(tensor) || TensorData.ElementCount(t) == 1);
}
