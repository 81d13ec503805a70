using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// A Reshape whose target shape is assembled at run time from its own input's dimensions — exporters write
/// <c>x.reshape(x.shape[0], x.shape[1], heads, d)</c> as Shape → Gather → Unsqueeze → Concat → Reshape — gets a constant
/// shape instead, with 0 ("copy this dimension") where a piece is the input's own dimension at the same position, as
/// ONNX Runtime's ReshapeFusion does for float graphs. In a quantized graph Q/DQ pairs hide the pattern from ONNX
/// Runtime, and each attention layer would run its shape arithmetic on every call. The pieces nothing else reads go.
/// </summary>
internal static class ReshapeFolding
{
    /// <summary>Folds every such Reshape of <paramref name="graph"/>; returns how many.</summary>
    public static int Apply(GraphProto graph)
    {
        var index = new GraphIndex(graph);
        int folded = 0;
        foreach (var reshape in graph.Node.Where(n => n.OpType == "Reshape" && n.Domain is "" or "ai.onnx" && n.Input.Count == 2).ToList())
        {
            if (OpCatalog.Attribute(reshape, "allowzero", 0L) != 0 || index.Producer(reshape.Input[1]) is not { OpType: "Concat" } concat
                || OpCatalog.Attribute(concat, "axis", 0L) != 0)
            {
                continue;
            }

            var shape = new List<long>();
            foreach (var piece in concat.Input)
            {
                if (!Piece(index, piece, reshape.Input[0], shape.Count, shape))
                {
                    shape.Clear();
                    break;
                }
            }

            if (shape.Count == 0)
            {
                continue;
            }

            string name = ModelPreparer.Unique(graph, reshape.Input[1] + "_folded");
            graph.Initializer.Add(TensorData.Create<long>(name, [.. shape], [shape.Count]));
            reshape.Input[1] = name;
            folded++;
        }

        if (folded > 0)
        {
            RemoveDeadNodes(graph);
        }

        return folded;
    }

    /// <summary>Appends the values of one Concat piece: int64 constants as they are, x's own dimension k at position k as 0.</summary>
    private static bool Piece(GraphIndex index, string piece, string data, int position, List<long> shape)
    {
        if (index.Initializers.TryGetValue(piece, out var constant))
        {
            if (constant.DataType != (int)TensorProto.Types.DataType.Int64 || constant.Dims.Count > 1)
            {
                return false;
            }

            shape.AddRange(TensorData.ToInt64(constant));
            return true;
        }

        // Unsqueeze(Gather(Shape(x), k), [0]) with a scalar k, or Gather(Shape(x), [k]).
        var node = index.Producer(piece);
        bool unsqueezed = false;
        if (node is { OpType: "Unsqueeze" } unsqueeze)
        {
            var axes = unsqueeze.Input.Count > 1
                ? (index.Initializers.TryGetValue(unsqueeze.Input[1], out var a) ? TensorData.ToInt64(a) : null)
                : unsqueeze.Attribute.FirstOrDefault(x => x.Name == "axes")?.Ints.ToArray();
            if (axes is not [0])
            {
                return false;
            }

            node = index.Producer(unsqueeze.Input[0]);
            unsqueezed = true;
        }

        if (node is not { OpType: "Gather", Input.Count: 2 } gather || OpCatalog.Attribute(gather, "axis", 0L) != 0
            || !index.Initializers.TryGetValue(gather.Input[1], out var k) || k.Dims.Count != (unsqueezed ? 0 : 1) || TensorData.ToInt64(k) is not [var dimension]
            || index.Producer(gather.Input[0]) is not { OpType: "Shape" } shapeOf || shapeOf.Input[0] != data || shapeOf.Attribute.Count > 0
            || dimension != position)
        {
            return false;
        }

        shape.Add(0);
        return true;
    }

    /// <summary>Removes nodes none of whose outputs is read (by a node, a branch or the graph's outputs), repeatedly.</summary>
    private static void RemoveDeadNodes(GraphProto graph)
    {
        bool removed;
        do
        {
            var used = GraphReads.Used(graph);
            var dead = graph.Node.Where(n => n.Output.All(o => o.Length == 0 || !used.Contains(o)) && n.OpType is "Shape" or "Gather" or "Unsqueeze" or "Concat" or "Cast" or "Slice" or "Squeeze").ToList();
            foreach (var node in dead)
            {
                graph.Node.Remove(node);
            }

            removed = dead.Count > 0;
        }
        while (removed);
        GraphReads.DropUnusedInitializers(graph);
    }
}
