using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// Tensor ranks of a graph from what it declares (inputs, value_info, outputs, initializers, Constant nodes) carried
/// forward through the ops whose output rank follows from their inputs and attributes. Opset adapters use it to pick
/// the simpler of two exact rewrites; a tensor missing here has an unknown rank.
/// </summary>
internal static class RankInference
{
    private static readonly HashSet<string> SameAsFirst = new(StringComparer.Ordinal)
    {
        "Abs", "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "AveragePool", "BatchNormalization", "Cast", "CastLike", "Ceil", "Celu",
        "Clip", "Conv", "ConvTranspose", "Cos", "Cosh", "CumSum", "DepthToSpace", "Dropout", "Elu", "Erf", "Exp", "Floor", "Gelu",
        "GlobalAveragePool", "GlobalLpPool", "GlobalMaxPool", "GroupNormalization", "HardSigmoid", "HardSwish", "Hardmax", "Identity",
        "InstanceNormalization", "IsInf", "IsNaN", "LRN", "LayerNormalization", "LeakyRelu", "Log", "LogSoftmax", "LpNormalization", "LpPool",
        "MaxPool", "MeanVarianceNormalization", "Mish", "Neg", "Not", "PRelu", "Pad", "QuantizeLinear", "DequantizeLinear", "Reciprocal",
        "Relu", "Resize", "Round", "Selu", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Slice", "Softmax", "Softplus", "Softsign",
        "SpaceToDepth", "Split", "Sqrt", "Tan", "Tanh", "ThresholdedRelu", "Tile", "TopK", "Transpose", "Trilu", "Upsample",
    };

    private static readonly HashSet<string> Broadcasting = new(StringComparer.Ordinal)
    {
        "Add", "Sub", "Mul", "Div", "Pow", "Mod", "And", "Or", "Xor", "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual",
        "Max", "Min", "Mean", "Sum", "Where", "BitShift",
    };

    /// <summary>Ranks of the graph's tensors; a subgraph also sees the ranks known in its enclosing graphs.</summary>
    public static Dictionary<string, int> Infer(GraphProto graph, IReadOnlyDictionary<string, int>? outer = null)
    {
        var ranks = outer is null ? new Dictionary<string, int>(StringComparer.Ordinal) : new Dictionary<string, int>(outer, StringComparer.Ordinal);
        foreach (var v in graph.Input.Concat(graph.ValueInfo).Concat(graph.Output))
        {
            if (v.Type?.TensorType?.Shape is { } shape)
            {
                ranks[v.Name] = shape.Dim.Count;
            }
        }

        foreach (var i in graph.Initializer)
        {
            ranks[i.Name] = i.Dims.Count;
        }

        // Lengths of 1-D int64 shape tensors (Shape, Concat of pieces, Unsqueeze of a scalar, constants): a Reshape's
        // output rank is the length of its shape input even when the shape is computed at run time.
        var lengths = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var i in graph.Initializer.Where(i => i.Dims.Count == 1))
        {
            lengths[i.Name] = (int)i.Dims[0];
        }

        foreach (var node in graph.Node)
        {
            int? Of(int input) => node.Input.Count > input && ranks.TryGetValue(node.Input[input], out int r) ? r : null;
            var axes = node.Attribute.FirstOrDefault(a => a.Name == "axes")?.Ints;
            int? rank = node.OpType switch
            {
                "Constant" => node.Attribute.FirstOrDefault(a => a.Name == "value")?.T?.Dims.Count,
                "Shape" => 1,
                "Size" => 0,
                "Flatten" or "Gemm" => 2,
                "MatMul" => Of(0) is int a && Of(1) is int b ? (a >= 2 && b >= 2 ? Math.Max(a, b) : Math.Max(a, b) - 1) : null,
                "Gather" => Of(0) + Of(1) - 1,
                "GatherElements" => Of(1),
                "Unsqueeze" when axes is { Count: > 0 } => Of(0) + axes.Count,
                "Squeeze" when axes is { Count: > 0 } => Of(0) - axes.Count,
                "ReduceMean" or "ReduceSum" or "ReduceMax" or "ReduceMin" or "ReduceProd" or "ReduceL1" or "ReduceL2" or "ReduceLogSum"
                    or "ReduceLogSumExp" or "ReduceSumSquare" or "ArgMax" or "ArgMin"
                    when node.Attribute.FirstOrDefault(a => a.Name == "keepdims") is not { I: 0 } => Of(0),
                "Reshape" when node.Input.Count > 1 && lengths.TryGetValue(node.Input[1], out int n) => n,
                "Concat" => node.Input.Select(i => ranks.TryGetValue(i, out int r) ? r : (int?)null).FirstOrDefault(r => r is not null),
                _ when SameAsFirst.Contains(node.OpType) => Of(0),
                _ when Broadcasting.Contains(node.OpType) => node.Input.All(i => ranks.ContainsKey(i)) ? node.Input.Max(i => ranks[i]) : null,
                _ => null,
            };
            int? length = node.OpType switch
            {
                "Constant" => node.Attribute.FirstOrDefault(a => a.Name == "value")?.T is { Dims.Count: 1 } t ? (int)t.Dims[0] : null,
                "Shape" when ranks.TryGetValue(node.Input[0], out int r) => ShapeLength(node, r),
                "Concat" => node.Input.All(lengths.ContainsKey) ? node.Input.Sum(i => lengths[i]) : null,
                "Unsqueeze" when ranks.TryGetValue(node.Input[0], out int r) && r == 0 => 1,
                "Cast" or "Identity" when lengths.TryGetValue(node.Input[0], out int l) => l,
                "Slice" when lengths.TryGetValue(node.Input[0], out int l) => SliceLength(graph, node, l),
                _ => null,
            };
            if (length is int l1 && node.Output.Count > 0)
            {
                lengths.TryAdd(node.Output[0], l1);
            }

            if (rank is int known)
            {
                foreach (var o in node.OpType is "Split" ? node.Output : node.Output.Take(1))
                {
                    if (o.Length > 0)
                    {
                        ranks.TryAdd(o, known);
                    }
                }
            }
        }

        return ranks;
    }

    /// <summary>The length of a step-1 slice of a 1-D tensor of length <paramref name="length"/> with constant bounds (attributes or initializers).</summary>
    private static int? SliceLength(GraphProto graph, NodeProto node, int length)
    {
        long? Bound(int input, string attribute)
        {
            if (node.Attribute.FirstOrDefault(a => a.Name == attribute) is { Ints.Count: 1 } a)
            {
                return a.Ints[0];
            }

            return node.Input.Count > input && graph.Initializer.LastOrDefault(i => i.Name == node.Input[input]) is { } t && TensorData.ElementCount(t) == 1
                ? TensorData.ToInt64(t)[0] : null;
        }

        bool unitSteps = node.Input.Count < 5 || node.Input[4].Length == 0
            || (graph.Initializer.LastOrDefault(i => i.Name == node.Input[4]) is { } steps && TensorData.ToInt64(steps).All(v => v == 1));
        if (Bound(1, "starts") is not long start || Bound(2, "ends") is not long end || !unitSteps)
        {
            return null;
        }

        start = Math.Clamp(start < 0 ? start + length : start, 0, length);
        end = Math.Clamp(end < 0 ? end + length : end, 0, length);
        return (int)Math.Max(0, end - start);
    }

    /// <summary>The length of Shape's output: the rank, or the [start, end) slice of it (opset 15).</summary>
    private static int ShapeLength(NodeProto node, int rank)
    {
        long start = node.Attribute.FirstOrDefault(a => a.Name == "start")?.I ?? 0;
        long end = node.Attribute.FirstOrDefault(a => a.Name == "end")?.I ?? rank;
        start = Math.Clamp(start < 0 ? start + rank : start, 0, rank);
        end = Math.Clamp(end < 0 ? end + rank : end, 0, rank);
        return (int)Math.Max(0, end - start);
    }
}
