using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>Which tensors a graph reads, counting what If/Loop/Scan branches read from the scopes around them.</summary>
internal static class GraphReads
{
    /// <summary>Tensors a node's subgraphs read from enclosing scopes (not produced, input or initializer inside them).</summary>
    public static IEnumerable<string> OuterReads(NodeProto node)
    {
        var reads = new HashSet<string>(StringComparer.Ordinal);
        foreach (var a in node.Attribute)
        {
            foreach (var g in a.G is null ? a.Graphs : a.Graphs.Prepend(a.G))
            {
                var defined = g.Input.Select(i => i.Name).Concat(g.Initializer.Select(i => i.Name)).Concat(g.Node.SelectMany(n => n.Output)).ToHashSet(StringComparer.Ordinal);
                foreach (var inner in g.Node)
                {
                    reads.UnionWith(inner.Input.Concat(OuterReads(inner)).Where(i => i.Length > 0 && !defined.Contains(i)));
                }

                reads.UnionWith(g.Output.Select(o => o.Name).Where(o => !defined.Contains(o)));
            }
        }

        return reads;
    }

    /// <summary>Every tensor read by the graph's nodes (their branches included) or returned as a graph output.</summary>
    public static HashSet<string> Used(GraphProto graph) =>
        graph.Node.SelectMany(n => n.Input.Concat(OuterReads(n))).Concat(graph.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);

    /// <summary>Drops the initializers nothing reads any more (a rewrite replaced them).</summary>
    public static void DropUnusedInitializers(GraphProto graph)
    {
        var used = Used(graph);
        var keep = graph.Initializer.Where(i => used.Contains(i.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(keep);
    }
}
