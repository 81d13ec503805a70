using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// Moves a model to a newer opset of ONNX's default domain the way ONNX's version converter does: every node, in the
/// main graph and in If/Loop/Scan subgraphs, crosses each version step with the adapter defined for its operator
/// (attributes turned into inputs, coerced-2-D Softmax rewritten, Upsample replaced by Resize, …) or unchanged where
/// its operator kept its meaning. What truly cannot be converted is refused, naming node, operator and both opsets.
/// </summary>
public static class OpsetConverter
{
    /// <summary>The newest default-domain opset this converter targets.</summary>
    public const int LatestOpset = 21;

    /// <summary>Converts a copy of <paramref name="model"/> to <paramref name="targetOpset"/>; the model itself is not changed.</summary>
    /// <param name="model">The model; its default-domain opset must not be newer than <paramref name="targetOpset"/>.</param>
    /// <param name="targetOpset">The opset to reach, at most <see cref="LatestOpset"/>.</param>
    /// <returns>The converted copy and one line per node that changed shape (not per attribute moved).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="targetOpset"/> is above <see cref="LatestOpset"/> or below the model's opset.</exception>
    /// <exception cref="OnnxFormatException">A node cannot be converted; the message names node, operator and opsets.</exception>
    public static (OnnxModel Model, IReadOnlyList<string> Notes) Convert(OnnxModel model, int targetOpset)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(targetOpset, LatestOpset);
        ArgumentOutOfRangeException.ThrowIfLessThan(targetOpset, model.OpsetVersion);
        var copy = model.Clone();
        var notes = Convert(copy.Proto, targetOpset);
        return (copy, notes);
    }

    /// <summary>Converts <paramref name="model"/> in place from its opset to <paramref name="to"/> and sets the IR version it needs.</summary>
    internal static List<string> Convert(ModelProto model, int to)
    {
        var opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
        int from = (int)(opset?.Version ?? 1);
        var notes = new List<string>();
        if (from >= to)
        {
            return notes;
        }

        ConvertGraph(model.Graph, from, to, notes);
        if (opset is null)
        {
            model.OpsetImport.Add(opset = new OperatorSetIdProto { Domain = "" });
        }

        opset.Version = to;
        model.IrVersion = Math.Max(model.IrVersion, IrVersionFor(to));
        return notes;
    }

    /// <summary>The lowest IR version that can express a default-domain opset (ONNX's versioning table).</summary>
    internal static long IrVersionFor(int opset) =>
        opset >= 21 ? 10 : opset >= 19 ? 9 : opset >= 15 ? 8 : opset >= 12 ? 7 : opset >= 11 ? 6 : opset >= 10 ? 5 : opset >= 9 ? 4 : 3;

    private static void ConvertGraph(GraphProto graph, int from, int to, List<string> notes, IReadOnlyDictionary<string, int>? outerRanks = null)
    {
        foreach (var node in graph.Node.Where(IsDefaultDomain))
        {
            CheckKnown(node, from, to);
        }

        var outer = new AdapterContext(graph, from, to, notes, outerRanks).Ranks;
        for (int version = from + 1; version <= to; version++)
        {
            var context = new AdapterContext(graph, from, to, notes, outerRanks);
            foreach (var node in graph.Node.Where(IsDefaultDomain).ToList())
            {
                if (version == 6)
                {
                    OpsetAdapters.RemoveConsumedInputs(node);
                }

                if (OpsetAdapters.Table.TryGetValue((node.OpType, version), out var adapt))
                {
                    adapt(context, node);
                }
                else if (version == 10 && OnnxOperators.RemovedExperimental.Contains(node.OpType))
                {
                    throw context.Refuse(node, 10, "this experimental operator was removed from ONNX in opset 10 and has no replacement here");
                }
            }
        }

        // Subgraphs share the model's opset imports: their nodes move with it.
        foreach (var sub in graph.Node.SelectMany(n => n.Attribute).SelectMany(a => a.G is null ? a.Graphs : a.Graphs.Prepend(a.G)))
        {
            ConvertGraph(sub, from, to, notes, outer);
        }
    }

    private static bool IsDefaultDomain(NodeProto node) => node.Domain is "" or "ai.onnx";

    private static void CheckKnown(NodeProto node, int from, int to)
    {
        if (OnnxOperators.VersionAt(node.OpType, from) is not null || OnnxOperators.RemovedExperimental.Contains(node.OpType)
            || (OnnxOperators.Versions.TryGetValue(node.OpType, out var versions) && versions[0] <= to))
        {
            return; // an op defined at `from`, an experimental one, or one ONNX Runtime ran early that the target opset defines
        }

        throw new OnnxFormatException(
            $"Node '{node.Name}' ({node.OpType}) cannot be converted from opset {from} to {to}: {node.OpType} is not an operator of ONNX's default domain up to opset {to}.");
    }
}
