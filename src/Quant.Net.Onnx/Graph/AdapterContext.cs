using Google.Protobuf;
using Quant.Net.Onnx.Protobuf;
using DataType = Quant.Net.Onnx.Protobuf.TensorProto.Types.DataType;

namespace Quant.Net.Onnx;

/// <summary>
/// What an opset adapter may do to the graph holding the node it converts: read constants, ranks and element types, add
/// initializers and nodes next to the node, and refuse with a message naming node, operator and the two opsets.
/// </summary>
internal sealed class AdapterContext
{
    private readonly NameSet _names;
    private Dictionary<string, int>? _ranks;
    private GraphIndex? _index;
    private readonly IReadOnlyDictionary<string, int>? _outerRanks;

    public AdapterContext(GraphProto graph, int from, int to, List<string> notes, IReadOnlyDictionary<string, int>? outerRanks = null)
    {
        _outerRanks = outerRanks;
        Graph = graph;
        From = from;
        To = to;
        Notes = notes;
        _names = new NameSet(graph);
    }

    public GraphProto Graph { get; }

    public int From { get; }

    public int To { get; }

    /// <summary>What the conversion did that a user may want to know (one line each).</summary>
    public List<string> Notes { get; }

    /// <summary>Ranks and types are computed once per graph and opset step; adapters that add nodes keep them valid for the rest.</summary>
    public void Invalidate()
    {
        _ranks = null;
        _index = null;
    }

    public OnnxFormatException Refuse(NodeProto node, int version, string why) =>
        new($"Node '{node.Name}' ({node.OpType}) cannot be converted from opset {version - 1} to {version} (on the way from {From} to {To}): {why}.");

    public static AttributeProto? Attribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    /// <summary>Removes and returns the attribute, or null if the node has none of that name.</summary>
    public static AttributeProto? Take(NodeProto node, string name)
    {
        var a = Attribute(node, name);
        if (a is not null)
        {
            node.Attribute.Remove(a);
        }

        return a;
    }

    public static void Set(NodeProto node, string name, long value)
    {
        Take(node, name);
        node.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });
    }

    public static void Set(NodeProto node, string name, string value)
    {
        Take(node, name);
        node.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) });
    }

    public static string? StringAttribute(NodeProto node, string name) => Attribute(node, name) is { } a ? a.S.ToStringUtf8() : null;

    /// <summary>A new initializer named after <paramref name="hint"/>; returns its (unique) name.</summary>
    public string AddInitializer(string hint, TensorProto tensor)
    {
        tensor.Name = _names.Make(hint);
        Graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    public string AddInt64s(NodeProto node, string what, IReadOnlyList<long> values) =>
        AddInitializer($"{node.Name}_{what}", TensorData.Create<long>(node.Name, values.ToArray(), [values.Count]));

    /// <summary>A scalar of the element type of tensor <paramref name="like"/> (float when unknown).</summary>
    public string AddScalarLike(NodeProto node, string what, string like, double value)
    {
        var type = Types.TryGetValue(like, out var t) ? t : DataType.Float;
        var tensor = type switch
        {
            DataType.Float => TensorData.Scalar(node.Name, (float)value),
            DataType.Double => Scalar(node.Name, DataType.Double, BitConverter.GetBytes(value)),
            DataType.Float16 => Scalar(node.Name, DataType.Float16, BitConverter.GetBytes((Half)value)),
            DataType.Int8 => TensorData.Scalar(node.Name, (sbyte)value),
            DataType.Uint8 => TensorData.Scalar(node.Name, (byte)value),
            DataType.Int16 => TensorData.Scalar(node.Name, (short)value),
            DataType.Uint16 => TensorData.Scalar(node.Name, (ushort)value),
            DataType.Int32 => TensorData.Scalar(node.Name, (int)value),
            DataType.Int64 => TensorData.Scalar(node.Name, (long)value),
            _ => throw new OnnxFormatException($"Node '{node.Name}' ({node.OpType}): its input '{like}' has element type {type}, for which no {what} constant can be written."),
        };
        return AddInitializer($"{node.Name}_{what}", tensor);
    }

    private static TensorProto Scalar(string name, DataType type, byte[] bytes) =>
        new() { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };

    /// <summary>A node inserted just before <paramref name="anchor"/> (its inputs are then still produced first).</summary>
    public NodeProto InsertBefore(NodeProto anchor, string opType, IEnumerable<string> inputs, string outputHint)
    {
        var node = NewNode(opType, inputs, outputHint);
        Graph.Node.Insert(Graph.Node.IndexOf(anchor), node);
        return node;
    }

    /// <summary>A node inserted just after <paramref name="anchor"/>.</summary>
    public NodeProto InsertAfter(NodeProto anchor, string opType, IEnumerable<string> inputs, string outputHint)
    {
        var node = NewNode(opType, inputs, outputHint);
        Graph.Node.Insert(Graph.Node.IndexOf(anchor) + 1, node);
        return node;
    }

    private NodeProto NewNode(string opType, IEnumerable<string> inputs, string outputHint)
    {
        var node = new NodeProto { OpType = opType, Name = _names.Make(outputHint) };
        node.Input.AddRange(inputs);
        node.Output.Add(_names.Make(outputHint));
        return node;
    }

    /// <summary>
    /// Moves the node's output <paramref name="index"/> to a fresh name and returns it, so a node inserted after it can
    /// produce the original name (consumers and graph outputs stay wired).
    /// </summary>
    public string RenameOutput(NodeProto node, int index, string hint)
    {
        string fresh = _names.Make(hint);
        node.Output[index] = fresh;
        return fresh;
    }

    /// <summary>The value of a constant tensor: an initializer or the output of a Constant node with a tensor value.</summary>
    public TensorProto? Constant(string name)
    {
        if (name.Length == 0)
        {
            return null;
        }

        var init = Graph.Initializer.LastOrDefault(i => i.Name == name);
        if (init is not null)
        {
            return init;
        }

        var producer = Graph.Node.FirstOrDefault(n => n.OpType == "Constant" && n.Domain is "" or "ai.onnx" && n.Output.Contains(name));
        return producer is null ? null : ConstantFolding.FromConstant(producer);
    }

    /// <summary>True if the tensor is read by a node of this graph or a subgraph, or is a graph output.</summary>
    public bool IsUsed(string tensor) => tensor.Length > 0 && GraphReads.Used(Graph).Contains(tensor);

    /// <summary>Element types as the graph index infers them.</summary>
    public IReadOnlyDictionary<string, DataType> Types => (_index ??= new GraphIndex(Graph)).Types;

    /// <summary>The rank of a tensor where the graph declares or implies it; null when unknown.</summary>
    public int? Rank(string tensor) => Ranks.TryGetValue(tensor, out int r) ? r : null;

    /// <summary>Every rank known in this graph and the graphs around it.</summary>
    public IReadOnlyDictionary<string, int> Ranks => _ranks ??= RankInference.Infer(Graph, _outerRanks);
}
