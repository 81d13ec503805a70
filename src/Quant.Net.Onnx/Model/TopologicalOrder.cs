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
        var needs = graph.Node.ToDictionary(n => n, n => n.Input.Concat(GraphReads.OuterReads(n)).Distinct(StringComparer.Ordinal).ToList());
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
}
