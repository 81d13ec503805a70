using Quant.Net.Onnx.Protobuf;
using DataType = Quant.Net.Onnx.Protobuf.TensorProto.Types.DataType;

namespace Quant.Net.Onnx;

/// <summary>Who produces and who consumes each tensor of a graph, its initializers and inferred element types.</summary>
internal sealed class GraphIndex
{
    private readonly Dictionary<string, NodeProto> _producers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);

    public GraphIndex(GraphProto graph)
    {
        Graph = graph;
        Initializers = graph.Initializer.GroupBy(i => i.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        GraphInputs = graph.Input.Select(i => i.Name).Where(n => !Initializers.ContainsKey(n)).ToHashSet(StringComparer.Ordinal);
        GraphOutputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output.Where(o => o.Length > 0))
            {
                _producers[output] = node;
            }

            foreach (var input in node.Input.Where(i => i.Length > 0).Distinct(StringComparer.Ordinal))
            {
                if (!_consumers.TryGetValue(input, out var list))
                {
                    _consumers[input] = list = [];
                }

                list.Add(node);
            }
        }

        Types = InferTypes(graph);
    }

    public GraphProto Graph { get; }

    public IReadOnlyDictionary<string, TensorProto> Initializers { get; }

    public IReadOnlySet<string> GraphInputs { get; }

    public IReadOnlySet<string> GraphOutputs { get; }

    /// <summary>Element type of each tensor whose type could be inferred.</summary>
    public IReadOnlyDictionary<string, DataType> Types { get; }

    public NodeProto? Producer(string tensor) => _producers.GetValueOrDefault(tensor);

    public IReadOnlyList<NodeProto> Consumers(string tensor) => _consumers.TryGetValue(tensor, out var list) ? list : [];

    public bool IsInitializer(string tensor) => Initializers.ContainsKey(tensor);

    public bool IsFloat(string tensor) => Types.TryGetValue(tensor, out var t) && t == DataType.Float;

    /// <summary>
    /// Forward type propagation over the ops this package meets: enough to tell float activations from the int64 shape
    /// arithmetic that must never be quantized.
    /// </summary>
    private static Dictionary<string, DataType> InferTypes(GraphProto graph)
    {
        var types = new Dictionary<string, DataType>(StringComparer.Ordinal);
        foreach (var v in graph.Input.Concat(graph.ValueInfo).Concat(graph.Output))
        {
            if (v.Type?.TensorType is { ElemType: > 0 } t)
            {
                types[v.Name] = (DataType)t.ElemType;
            }
        }

        foreach (var i in graph.Initializer)
        {
            types[i.Name] = (DataType)i.DataType;
        }

        foreach (var node in graph.Node)
        {
            DataType? first = node.Input.Where(i => i.Length > 0).Select(i => types.TryGetValue(i, out var t) ? t : (DataType?)null).FirstOrDefault(t => t is not null);
            DataType? result = node.OpType switch
            {
                "Shape" or "Size" or "NonZero" or "ArgMax" or "ArgMin" => DataType.Int64,
                "Equal" or "Less" or "Greater" or "LessOrEqual" or "GreaterOrEqual" or "Not" or "And" or "Or" or "Xor" or "IsNaN" or "IsInf" => DataType.Bool,
                "Cast" => (DataType?)node.Attribute.FirstOrDefault(a => a.Name == "to")?.I,
                "Constant" => node.Attribute.FirstOrDefault(a => a.Name == "value")?.T is { } t ? (DataType)t.DataType
                    : node.Attribute.Any(a => a.Name is "value_float" or "value_floats") ? DataType.Float : DataType.Int64,
                "ConstantOfShape" => node.Attribute.FirstOrDefault(a => a.Name == "value")?.T is { } v ? (DataType)v.DataType : DataType.Float,
                "DequantizeLinear" => DataType.Float,
                "QuantizeLinear" => node.Input.Count > 2 && types.TryGetValue(node.Input[2], out var zp) ? zp : DataType.Uint8,
                "Where" => node.Input.Count > 1 && types.TryGetValue(node.Input[1], out var w) ? w : null,
                _ => first,
            };
            if (result is { } r)
            {
                foreach (var o in node.Output.Where(o => o.Length > 0))
                {
                    types.TryAdd(o, r);
                }
            }
        }

        return types;
    }
}
