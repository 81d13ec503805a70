using Quant.Net.Onnx.Protobuf;
using DataType = Quant.Net.Onnx.Protobuf.TensorProto.Types.DataType;

namespace Quant.Net.Onnx;

/// <summary>
/// A float16 model made a float32 model that computes the same function more precisely, so that it quantizes like
/// any other: float16 initializers and constants become float32, casts to float16 cast to float32, and the model keeps
/// its interface (float16 inputs are cast to float32 on entry, float16 outputs back to float16 on exit). The quantized
/// model then has int8 weights and float32 scales; the comparison is made against the original float16 model.
/// </summary>
internal static class Float16Conversion
{
    private const int Half = (int)DataType.Float16;
    private const int Single = (int)DataType.Float;

    /// <summary>True if the model computes in float16 anywhere (initializers, constants, casts or typed values).</summary>
    public static bool Applies(GraphProto graph) =>
        graph.Initializer.Any(i => i.DataType == Half) || graph.Input.Concat(graph.Output).Concat(graph.ValueInfo).Any(v => v.Type?.TensorType?.ElemType == Half)
        || graph.Node.Any(n => n.Attribute.Any(a => (a.Name == "to" && a.I == Half) || a.T?.DataType == Half || (a.G is not null && Applies(a.G)) || a.Graphs.Any(Applies)));

    /// <returns>The number of tensors, constants and casts changed.</returns>
    public static int Apply(GraphProto graph)
    {
        int changed = ConvertGraph(graph);
        var names = new NameSet(graph);
        foreach (var input in graph.Input.Where(i => i.Type?.TensorType?.ElemType == Half))
        {
            string internalName = names.Make(input.Name + "_fp32");
            Rename(graph, input.Name, internalName, outputs: false);
            graph.Node.Insert(0, Cast(names.Make(input.Name + "_to_fp32"), input.Name, internalName, Single));
            changed++;
        }

        foreach (var output in graph.Output.Where(o => o.Type?.TensorType?.ElemType == Half))
        {
            string internalName = names.Make(output.Name + "_fp32");
            Rename(graph, output.Name, internalName, outputs: true);
            graph.Node.Add(Cast(names.Make(output.Name + "_to_fp16"), internalName, output.Name, Half));
            changed++;
        }

        return changed;
    }

    /// <summary>Every node input (and, with <paramref name="outputs"/>, output) named <paramref name="from"/> renamed.</summary>
    private static void Rename(GraphProto graph, string from, string to, bool outputs)
    {
        foreach (var node in graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] == from)
                {
                    node.Input[i] = to;
                }
            }

            for (int i = 0; outputs && i < node.Output.Count; i++)
            {
                if (node.Output[i] == from)
                {
                    node.Output[i] = to;
                }
            }
        }
    }

    private static NodeProto Cast(string name, string input, string output, int to)
    {
        var node = new NodeProto { OpType = "Cast", Name = name, Input = { input }, Output = { output } };
        node.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = to });
        return node;
    }

    /// <summary>Everything inside the graph (and its subgraphs) except the main graph's own inputs and outputs.</summary>
    private static int ConvertGraph(GraphProto graph)
    {
        int changed = 0;
        for (int i = 0; i < graph.Initializer.Count; i++)
        {
            if (graph.Initializer[i].DataType == Half)
            {
                graph.Initializer[i] = ToSingle(graph.Initializer[i]);
                changed++;
            }
        }

        foreach (var v in graph.ValueInfo.Where(v => v.Type?.TensorType?.ElemType == Half))
        {
            v.Type.TensorType.ElemType = Single;
        }

        foreach (var node in graph.Node)
        {
            foreach (var a in node.Attribute)
            {
                if ((a.Name is "to" or "dtype") && a.Type == AttributeProto.Types.AttributeType.Int && a.I == Half)
                {
                    a.I = Single;
                    changed++;
                }

                if (a.T is { DataType: Half })
                {
                    a.T = ToSingle(a.T);
                    changed++;
                }

                if (a.G is not null)
                {
                    changed += ConvertSubgraph(a.G);
                }

                foreach (var g in a.Graphs)
                {
                    changed += ConvertSubgraph(g);
                }
            }
        }

        return changed;
    }

    /// <summary>A subgraph's inputs and outputs are values of the enclosing graph: they change type with it.</summary>
    private static int ConvertSubgraph(GraphProto graph)
    {
        foreach (var v in graph.Input.Concat(graph.Output).Where(v => v.Type?.TensorType?.ElemType == Half))
        {
            v.Type.TensorType.ElemType = Single;
        }

        return ConvertGraph(graph);
    }

    private static TensorProto ToSingle(TensorProto tensor) =>
        TensorData.Create<float>(tensor.Name, TensorData.ToFloats(tensor), TensorData.Shape(tensor));
}
