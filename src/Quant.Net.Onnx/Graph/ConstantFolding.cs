using Quant.Net.Onnx.Protobuf;
using DataType = Quant.Net.Onnx.Protobuf.TensorProto.Types.DataType;

namespace Quant.Net.Onnx;

/// <summary>
/// Weights as exporters really write them, turned into initializers: <c>Constant</c> nodes become initializers, and
/// Identity, Cast, Transpose, Reshape, Squeeze, Unsqueeze and Flatten nodes whose inputs are all initializers are
/// computed once. A Conv whose weight sat behind a Constant or a Transpose then has an initializer weight that the
/// quantizer treats as a weight (per-channel, never calibrated) and that BatchNorm folding can rewrite.
/// </summary>
internal static class ConstantFolding
{
    /// <returns>How many Constant nodes became initializers and how many nodes were computed.</returns>
    public static (int Constants, int Folded) Apply(GraphProto graph)
    {
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var i in graph.Initializer)
        {
            initializers.TryAdd(i.Name, i);
        }

        int constants = 0, folded = 0;
        foreach (var node in graph.Node.ToList())
        {
            if (node.Domain is not ("" or "ai.onnx") || node.Output.Count != 1 || outputs.Contains(node.Output[0]) || initializers.ContainsKey(node.Output[0]))
            {
                continue;
            }

            TensorProto? value = node.OpType == "Constant" ? FromConstant(node)
                : node.Input.Count > 0 && node.Input.All(i => i.Length == 0 || initializers.ContainsKey(i)) ? Compute(node, initializers) : null;
            if (value is null)
            {
                continue;
            }

            value.Name = node.Output[0];
            graph.Initializer.Add(value);
            initializers[value.Name] = value;
            graph.Node.Remove(node);
            if (node.OpType == "Constant")
            {
                constants++;
            }
            else
            {
                folded++;
            }
        }

        if (folded > 0)
        {
            GraphReads.DropUnusedInitializers(graph);
        }

        return (constants, folded);
    }

    /// <summary>The value of a Constant node (tensor, float(s) or int(s) attribute), or null for a form it does not hold.</summary>
    public static TensorProto? FromConstant(NodeProto node)
    {
        var a = node.Attribute.FirstOrDefault();
        if (node.Attribute.Count != 1 || a is null)
        {
            return null;
        }

        return a.Name switch
        {
            "value" when a.T is not null && a.T.DataLocation != TensorProto.Types.DataLocation.External => a.T.Clone(),
            "value_float" => TensorData.Scalar("", a.F),
            "value_floats" => TensorData.Create<float>("", a.Floats.ToArray(), [a.Floats.Count]),
            "value_int" => TensorData.Scalar("", a.I),
            "value_ints" => TensorData.Create<long>("", a.Ints.ToArray(), [a.Ints.Count]),
            _ => null,
        };
    }

    private static TensorProto? Compute(NodeProto node, Dictionary<string, TensorProto> initializers)
    {
        var x = initializers[node.Input[0]];
        var type = (DataType)x.DataType;
        if (type is not (DataType.Float or DataType.Float16 or DataType.Double or DataType.Int64 or DataType.Int32) || x.DataLocation == TensorProto.Types.DataLocation.External)
        {
            return null;
        }

        var shape = TensorData.Shape(x).Select(d => (long)d).ToArray();
        long[]? Ints(int input, string attribute) =>
            node.Input.Count > input && node.Input[input].Length > 0 ? TensorData.ToInt64(initializers[node.Input[input]])
            : node.Attribute.FirstOrDefault(a => a.Name == attribute) is { } a ? [.. a.Ints] : null;
        switch (node.OpType)
        {
            case "Identity":
                return x.Clone();
            case "Cast":
                return node.Attribute.FirstOrDefault(a => a.Name == "to")?.I == (long)DataType.Float
                    ? TensorData.Create<float>("", TensorData.ToFloats(x), TensorData.Shape(x))
                    : null;
            case "Transpose":
                var perm = Ints(int.MaxValue, "perm") ?? [.. Enumerable.Range(0, shape.Length).Reverse().Select(i => (long)i)];
                return type is DataType.Float ? Transpose(TensorData.ToFloats(x), shape, perm) : null;
            case "Reshape":
                var target = Ints(1, "shape");
                bool allowZero = node.Attribute.FirstOrDefault(a => a.Name == "allowzero")?.I == 1;
                return target is null ? null : WithShape(x, ReshapeDims(shape, target, allowZero));
            case "Unsqueeze":
                var add = Ints(1, "axes");
                if (add is null)
                {
                    return null;
                }

                int rank = shape.Length + add.Length;
                var axes = add.Select(a => a < 0 ? a + rank : a).ToHashSet();
                var dims = new List<long>();
                for (int i = 0, j = 0; i < rank; i++)
                {
                    dims.Add(axes.Contains(i) ? 1 : shape[j++]);
                }

                return WithShape(x, [.. dims]);
            case "Squeeze":
                var drop = Ints(1, "axes")?.Select(a => a < 0 ? a + shape.Length : a).ToHashSet();
                return WithShape(x, [.. shape.Where((d, i) => drop is null ? d != 1 : !drop.Contains(i))]);
            case "Flatten":
                long axis = node.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? 1;
                axis = axis < 0 ? axis + shape.Length : axis;
                return WithShape(x, [shape.Take((int)axis).Aggregate(1L, (p, d) => p * d), shape.Skip((int)axis).Aggregate(1L, (p, d) => p * d)]);
            default:
                return null;
        }
    }

    private static long[] ReshapeDims(long[] shape, long[] target, bool allowZero)
    {
        var dims = target.Select((d, i) => d == 0 && !allowZero && i < shape.Length ? shape[i] : d).ToArray();
        long known = dims.Where(d => d != -1).Aggregate(1L, (p, d) => p * d);
        long total = shape.Aggregate(1L, (p, d) => p * d);
        return [.. dims.Select(d => d == -1 ? (known == 0 ? 0 : total / known) : d)];
    }

    private static TensorProto? WithShape(TensorProto x, long[] dims)
    {
        if (dims.Aggregate(1L, (p, d) => p * d) != x.Dims.Aggregate(1L, (p, d) => p * d))
        {
            return null;
        }

        var copy = x.Clone();
        copy.Dims.Clear();
        copy.Dims.Add(dims);
        return copy;
    }

    private static TensorProto? Transpose(float[] data, long[] shape, long[] perm)
    {
        int rank = shape.Length;
        if (perm.Length != rank || perm.Distinct().Count() != rank || perm.Any(p => p < 0 || p >= rank))
        {
            return null;
        }

        var outShape = perm.Select(p => shape[p]).ToArray();
        var inStrides = new long[rank];
        for (int i = rank - 1, s = 1; i >= 0; s *= (int)shape[i], i--)
        {
            inStrides[i] = s;
        }

        var result = new float[data.Length];
        var index = new long[rank];
        for (int o = 0; o < result.Length; o++)
        {
            long source = 0;
            for (int i = 0; i < rank; i++)
            {
                source += index[i] * inStrides[perm[i]];
            }

            result[o] = data[source];
            for (int i = rank - 1; i >= 0 && ++index[i] == outShape[i]; i--)
            {
                index[i] = 0;
            }
        }

        return TensorData.Create<float>("", result, [.. outShape.Select(d => (int)d)]);
    }
}
