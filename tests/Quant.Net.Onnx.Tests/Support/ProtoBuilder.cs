using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx.Tests.Support;

/// <summary>Value infos and nodes for models built directly as protobuf (int64 inputs, external data).</summary>
internal static class ProtoBuilder
{
    public static ValueInfoProto Value(string name, TensorProto.Types.DataType type, params long[] shape)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = new TensorShapeProto() };
        tensor.Shape.Dim.Add(shape.Select(d => new TensorShapeProto.Types.Dimension { DimValue = d }));
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }

    public static NodeProto Node(string op, string name, string[] inputs, string output)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.Add(inputs);
        node.Output.Add(output);
        return node;
    }
}
