using Quant.Net.Onnx.Protobuf;
using DataType = Quant.Net.Onnx.Protobuf.TensorProto.Types.DataType;

namespace Quant.Net.Onnx;

/// <summary>
/// Builds an FP32 ONNX model in code (for example to export a network trained in .NET, then quantize it with encodings
/// learned during QAT): float inputs and outputs, float initializers, nodes with integer, float and integer-list attributes.
/// </summary>
public sealed class OnnxGraphBuilder
{
    private readonly ModelProto _model;

    /// <summary>Starts an empty graph at the given default-domain opset.</summary>
    public OnnxGraphBuilder(int opset = 13, string name = "graph")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(opset, 1);
        _model = new ModelProto { IrVersion = opset >= 21 ? 10 : 7, ProducerName = "Quant.Net", Graph = new GraphProto { Name = name } };
        _model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
    }

    /// <summary>Adds a float input; a null dimension is symbolic (for example the batch).</summary>
    public OnnxGraphBuilder AddInput(string name, params long?[] shape)
    {
        _model.Graph.Input.Add(ValueInfo(name, shape));
        return this;
    }

    /// <summary>Adds a float output; a null dimension is symbolic.</summary>
    public OnnxGraphBuilder AddOutput(string name, params long?[] shape)
    {
        _model.Graph.Output.Add(ValueInfo(name, shape));
        return this;
    }

    /// <summary>Adds a float initializer (a constant tensor such as a weight or bias).</summary>
    /// <exception cref="ArgumentException">The value count does not match the shape.</exception>
    public OnnxGraphBuilder AddInitializer(string name, ReadOnlySpan<float> values, params int[] shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != values.Length)
        {
            throw new ArgumentException($"Initializer '{name}': shape [{string.Join(", ", shape)}] needs {count} values, got {values.Length}.", nameof(values));
        }

        _model.Graph.Initializer.Add(TensorData.Create<float>(name, values, shape));
        return this;
    }

    /// <summary>Adds a node of the default (<c>ai.onnx</c>) domain.</summary>
    /// <param name="opType">Operator type, for example <c>Gemm</c>.</param>
    /// <param name="inputs">Input tensor names ("" for an omitted optional input).</param>
    /// <param name="outputs">Output tensor names.</param>
    /// <param name="attributes">Attributes: <see cref="long"/>/<see cref="int"/>, <see cref="float"/>, <see cref="string"/> or <see cref="long"/>[] values.</param>
    /// <param name="name">Node name (default: its first output).</param>
    /// <exception cref="ArgumentException">An attribute value has an unsupported type.</exception>
    public OnnxGraphBuilder AddNode(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, IReadOnlyDictionary<string, object>? attributes = null, string? name = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(opType);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        var node = new NodeProto { OpType = opType, Name = name ?? (outputs.Count > 0 ? outputs[0] : opType) };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        foreach (var (key, value) in attributes ?? new Dictionary<string, object>())
        {
            var attribute = new AttributeProto { Name = key };
            switch (value)
            {
                case long l:
                    (attribute.Type, attribute.I) = (AttributeProto.Types.AttributeType.Int, l);
                    break;
                case int i:
                    (attribute.Type, attribute.I) = (AttributeProto.Types.AttributeType.Int, i);
                    break;
                case float f:
                    (attribute.Type, attribute.F) = (AttributeProto.Types.AttributeType.Float, f);
                    break;
                case string s:
                    (attribute.Type, attribute.S) = (AttributeProto.Types.AttributeType.String, Google.Protobuf.ByteString.CopyFromUtf8(s));
                    break;
                case long[] list:
                    attribute.Type = AttributeProto.Types.AttributeType.Ints;
                    attribute.Ints.Add(list);
                    break;
                default:
                    throw new ArgumentException($"Attribute '{key}' of node '{node.Name}' has unsupported type {value?.GetType().Name ?? "null"}.", nameof(attributes));
            }

            node.Attribute.Add(attribute);
        }

        _model.Graph.Node.Add(node);
        return this;
    }

    /// <summary>The model (checked: every node input must be produced, nodes are sorted).</summary>
    /// <exception cref="OnnxFormatException">A node reads a tensor nothing produces, or the graph has a cycle.</exception>
    public OnnxModel Build()
    {
        var model = new OnnxModel(_model.Clone());
        TopologicalOrder.Sort(model.Graph);
        return model;
    }

    private static ValueInfoProto ValueInfo(string name, long?[] shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float, Shape = new TensorShapeProto() };
        foreach (var d in shape)
        {
            tensor.Shape.Dim.Add(d is { } v ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = "N" });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}
