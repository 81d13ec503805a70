using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>Embedding tables stored int8 per row behind DequantizeLinear, for the dynamic and weight-only writers.</summary>
internal static class EmbeddingWriter
{
    /// <summary>
    /// An embedding table (Gather along axis 0 from a 2-D float initializer) stored int8 with one symmetric scale per
    /// row, read through DequantizeLinear (opset 13 or later): a quarter of the size of the largest tensor of a text
    /// encoder or language model (ONNX Runtime's dynamic quantizer does the same with one scale per table); null when the
    /// node is not such a Gather. <paramref name="read"/> reads the table's values (a streaming source), by default from memory.
    /// </summary>
    public static TensorEncoding? TryWrite(GraphProto graph, GraphIndex index, NameSet names, NodeProto node, Func<TensorProto, float[]>? read = null)
    {
        if (node.Input.Count < 2 || !index.Initializers.TryGetValue(node.Input[0], out var table) || table.Dims.Count != 2 || !index.IsFloat(node.Input[0])
            || OpCatalog.Attribute(node, "axis", 0L) != 0 || index.GraphOutputs.Contains(node.Input[0]))
        {
            return null;
        }

        var values = (read ?? TensorData.ToFloats)(table);
        var shape = TensorData.Shape(table);
        var scheme = new QuantScheme(8, true, true, true, QuantGranularity.PerChannel(0));
        var encoding = QuantEncoding.FromTensor(scheme, values, shape);
        var codes = new sbyte[values.Length];
        QuantOps.Quantize<sbyte>(values, shape, encoding, codes);
        string baseName = node.Input[0];
        string q = names.Make(baseName + "_quantized"), z = names.Make(baseName + "_zero_point"), s = names.Make(baseName + "_scale");
        string dequantized = names.Make(baseName + "_dequantized");
        graph.Initializer.Add(TensorData.Create<sbyte>(q, codes, shape));
        graph.Initializer.Add(TensorData.Create<sbyte>(z, new sbyte[shape[0]], [shape[0]]));
        graph.Initializer.Add(TensorData.Create<float>(s, encoding.Scales, [shape[0]]));
        graph.Node.Insert(graph.Node.IndexOf(node), QdqWriter.Dequantize(names.Make(baseName + "_DequantizeLinear"), [q, s, z], dequantized, QuantGranularity.PerChannel(0)));
        node.Input[0] = dequantized;
        return new TensorEncoding(new PlannedTensor(baseName, TensorRole.Weight, scheme, node.Name), encoding);
    }
}
