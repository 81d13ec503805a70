using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>Fresh tensor and node names that collide with nothing in the graph.</summary>
internal sealed class NameSet
{
    private readonly HashSet<string> _names;

    public NameSet(GraphProto graph) =>
        _names = graph.Initializer.Select(i => i.Name).Concat(graph.Input.Select(i => i.Name)).Concat(graph.Output.Select(o => o.Name))
            .Concat(graph.Node.SelectMany(n => n.Output)).Concat(graph.Node.SelectMany(n => n.Input)).Concat(graph.Node.Select(n => n.Name))
            .ToHashSet(StringComparer.Ordinal);

    public string Make(string name)
    {
        string candidate = name;
        for (int k = 1; !_names.Add(candidate); k++)
        {
            candidate = $"{name}_{k}";
        }

        return candidate;
    }
}
