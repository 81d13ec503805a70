using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>Graph nodes in an order where every input is produced before it is read.</summary>
internal static class TopologicalOrder
{
    /// <summary>
    /// Kahn's algorithm, keeping the original order among ready nodes; reports the first unresolvable input. A node with
    /// subgraphs (If, Loop, Scan) also waits for the outer-scope tensors its subgraphs read.
    /// </summary>
    public static void Sort(GraphProto graph)
    {
        var needs = graph.Node.ToDictionary(n => n, n => n.Input.Concat(OuterReads(n)).Distinct(StringComparer.Ordinal).ToList());
        var available = graph.Input.Select(i => i.Name).Concat(graph.Initializer.Select(i => i.Name)).ToHashSet(StringComparer.Ordinal);
        available.Add("");
        var pending = graph.Node.ToList();
        var sorted = new List<NodeProto>(pending.Count);
        while (pending.Count > 0)
        {
            int before = sorted.Count;
            for (int i = 0; i < pending.Count; i++)
            {
                var node = pending[i];
                if (needs[node].All(available.Contains))
                {
                    sorted.Add(node);
                    foreach (var o in node.Output)
                    {
                        available.Add(o);
                    }

                    pending.RemoveAt(i);
                    i--;
                }
            }

            if (sorted.Count == before)
            {
                var produced = graph.Node.SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
                var node = pending[0];
                string missing = needs[node].First(i => !available.Contains(i));
                throw new OnnxFormatException(produced.Contains(missing)
                    ? $"Node '{node.Name}' ({node.OpType}) is part of a cycle through tensor '{missing}'."
                    : $"Node '{node.Name}' ({node.OpType}) reads tensor '{missing}', which is neither a graph input, an initializer nor the output of a node (missing initializer?).");
            }
        }

        foreach (var output in graph.Output)
        {
            if (!available.Contains(output.Name))
            {
                throw new OnnxFormatException($"Graph output '{output.Name}' is not produced by any node.");
            }
        }

        graph.Node.Clear();
        graph.Node.AddRange(sorted);
    }

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
}
