using Quant.Net.Kernels;
using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// An embedding table tied to the LM head (the head's weight is the table transposed) read from the head's MatMulNBits
/// weights instead of being stored a second time: the rows of B [V, blocks, blob] and of the scales are gathered by token
/// id and decoded with standard ops (Cast, 4-bit codes split with Floor/Div, minus the middle code, times the block's
/// scale), so only the T gathered rows are decoded per call and the model stays runnable in ONNX Runtime at opset 13+.
/// Symmetric blocks only (MatMulNBits' implicit zero point).
/// </summary>
internal static class TiedEmbeddingWriter
{
    /// <summary>Replaces <paramref name="gather"/> (table [V, K] rows by id) with the decode of the head's packed weights.</summary>
    public static void Write(GraphProto graph, NameSet names, NodeProto gather, string packed, string scales, BlockQuantizedWeights w)
    {
        string ids = gather.Input[1], output = gather.Output[0], baseName = gather.Name;
        int at = graph.Node.IndexOf(gather);
        var nodes = new List<NodeProto>();
        string Node(string op, string[] inputs, params (string Name, long Value)[] attributes)
        {
            string result = names.Make($"{baseName}_{op}");
            var node = new NodeProto { Name = names.Make($"{baseName}/{op}"), OpType = op };
            node.Input.Add(inputs);
            node.Output.Add(result);
            foreach (var (name, value) in attributes)
            {
                node.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });
            }

            nodes.Add(node);
            return result;
        }

        string Constant<T>(string suffix, T[] values, int[] shape)
            where T : unmanaged
        {
            string name = names.Make($"{baseName}_{suffix}");
            graph.Initializer.Add(TensorData.Create<T>(name, values, shape));
            return name;
        }

        // Codes of the gathered rows: [..., blocks, blob] bytes → [..., blocks, blockSize] floats.
        string bytes = Node("Cast", [Node("Gather", [packed, ids], ("axis", 0))], ("to", (long)TensorProto.Types.DataType.Float));
        string codes = bytes;
        string idShape = Node("Shape", [ids]);
        if (w.Bits == 4)
        {
            string sixteen = Constant("sixteen", [16f], []);
            string high = Node("Floor", [Node("Div", [bytes, sixteen])]);
            string low = Node("Sub", [bytes, Node("Mul", [high, sixteen])]);
            string last = Constant("last_axis", [-1L], [1]);
            string pairs = Node("Concat", [Node("Unsqueeze", [low, last]), Node("Unsqueeze", [high, last])], ("axis", -1));
            codes = Node("Reshape", [pairs, Node("Concat", [idShape, Constant("block_shape", [(long)w.BlockCount, w.BlockSize], [2])], ("axis", 0))]);
        }

        string centered = Node("Sub", [codes, Constant("middle", [(float)(1 << (w.Bits - 1))], [])]);
        string rowScales = Node("Gather", [Node("Reshape", [scales, Constant("scale_shape", [(long)w.N, w.BlockCount], [2])]), ids], ("axis", 0));
        string values = Node("Mul", [centered, Node("Unsqueeze", [rowScales, Constant("scale_axis", [-1L], [1])])]);
        string flat = Node("Reshape", [values, Node("Concat", [idShape, Constant("row_length", [(long)w.BlockCount * w.BlockSize], [1])], ("axis", 0))]);
        if (w.BlockCount * w.BlockSize != w.K)
        {
            // The last block's padding.
            flat = Node("Slice", [flat, Constant("start", [0L], [1]), Constant("end", [(long)w.K], [1]), Constant("slice_axis", [-1L], [1])]);
        }

        nodes[^1].Output[0] = output;
        graph.Node.RemoveAt(at);
        for (int i = 0; i < nodes.Count; i++)
        {
            graph.Node.Insert(at + i, nodes[i]);
        }
    }
}
