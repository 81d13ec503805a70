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
                "Reshape" when node.Input.Count > 1 && Shape1D(graph, node.Input[1]) is int n => n,
                "Concat" => node.Input.Select(i => ranks.TryGetValue(i, out int r) ? r : (int?)null).FirstOrDefault(r => r is not null),
                _ when SameAsFirst.Contains(node.OpType) => Of(0),
                _ when Broadcasting.Contains(node.OpType) => node.Input.All(i => ranks.ContainsKey(i)) ? node.Input.Max(i => ranks[i]) : null,
                _ => null,
            };
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

    /// <summary>The length of a constant 1-D tensor (a Reshape target shape).</summary>
    private static int? Shape1D(GraphProto graph, string name)
    {
        var t = graph.Initializer.LastOrDefault(i => i.Name == name)
            ?? graph.Node.FirstOrDefault(n => n.OpType == "Constant" && n.Output.Contains(name))?.Attribute.FirstOrDefault(a => a.Name == "value")?.T;
        return t is { Dims.Count: 1 } ? (int)t.Dims[0] : null;
    }
}
