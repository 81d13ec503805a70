using Quant.Net.Onnx.Protobuf;
using DataType = Quant.Net.Onnx.Protobuf.TensorProto.Types.DataType;

namespace Quant.Net.Onnx.Tests.Support;

/// <summary>Builds small ONNX models in code for tests: one call per node, random weights from a seed.</summary>
internal sealed class GraphBuilder
{
    private readonly ModelProto _model;
    private readonly Random _random;
    private int _counter;

    public GraphBuilder(int opset = 13, int seed = 1, long irVersion = 7)
    {
        _model = new ModelProto { IrVersion = irVersion, ProducerName = "tests", Graph = new GraphProto { Name = "test" } };
        _model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        _random = new Random(seed);
    }

    public GraphProto Graph => _model.Graph;

    public string Input(string name, params long[] shape)
    {
        Graph.Input.Add(ValueInfo(name, DataType.Float, shape));
        return name;
    }

    public GraphBuilder Output(string name, params long[] shape)
    {
        Graph.Output.Add(ValueInfo(name, DataType.Float, shape));
        return this;
    }

    public string Initializer(string name, float[] values, params int[] shape)
    {
        Graph.Initializer.Add(TensorData.Create<float>(name, values, shape));
        return name;
    }

    public string Random(string name, float scale, params int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        var values = new float[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = (float)((_random.NextDouble() * 2) - 1) * scale;
        }

        return Initializer(name, values, shape);
    }

    public string Node(string op, string[] inputs, string? output = null, Action<NodeProto>? attributes = null, string? name = null)
    {
        output ??= $"{op.ToLowerInvariant()}_{_counter}";
        var node = new NodeProto { OpType = op, Name = name ?? $"{op}_{_counter++}" };
        node.Input.Add(inputs);
        node.Output.Add(output);
        attributes?.Invoke(node);
        Graph.Node.Add(node);
        return output;
    }

    public static Action<NodeProto> Ints(string name, params long[] values) => n =>
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.Add(values);
        n.Attribute.Add(a);
    };

    public static Action<NodeProto> Int(string name, long value) =>
        n => n.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });

    public static Action<NodeProto> Float(string name, float value) =>
        n => n.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value });

    public static Action<NodeProto> All(params Action<NodeProto>[] actions) => n =>
    {
        foreach (var a in actions)
        {
            a(n);
        }
    };

    /// <summary>Conv with random weights and bias; pads 1 for 3x3.</summary>
    public string Conv(string input, int inChannels, int outChannels, int kernel = 3, int group = 1, int stride = 1, bool bias = true, string? output = null)
    {
        string w = Random($"w{_counter}", 0.5f, outChannels, inChannels / group, kernel, kernel);
        var inputs = bias ? new[] { input, w, Random($"b{_counter}", 0.2f, outChannels) } : [input, w];
        int pad = kernel / 2;
        return Node("Conv", inputs, output, All(Ints("kernel_shape", kernel, kernel), Ints("pads", pad, pad, pad, pad), Ints("strides", stride, stride), Int("group", group)));
    }

    public string BatchNorm(string input, int channels, string? output = null)
    {
        var gamma = Enumerable.Range(0, channels).Select(_ => 0.5f + (float)_random.NextDouble()).ToArray();
        var beta = Enumerable.Range(0, channels).Select(_ => (float)_random.NextDouble() - 0.5f).ToArray();
        var mean = Enumerable.Range(0, channels).Select(_ => (float)_random.NextDouble() - 0.5f).ToArray();
        var variance = Enumerable.Range(0, channels).Select(_ => 0.2f + (float)_random.NextDouble()).ToArray();
        int id = _counter;
        string[] inputs = [input, Initializer($"gamma{id}", gamma, channels), Initializer($"beta{id}", beta, channels),
            Initializer($"mean{id}", mean, channels), Initializer($"var{id}", variance, channels)];
        return Node("BatchNormalization", inputs, output, Float("epsilon", 1e-5f));
    }

    public string Gemm(string input, int inFeatures, int outFeatures, bool transB = true, string? output = null)
    {
        string w = transB ? Random($"w{_counter}", 0.3f, outFeatures, inFeatures) : Random($"w{_counter}", 0.3f, inFeatures, outFeatures);
        return Node("Gemm", [input, w, Random($"b{_counter}", 0.2f, outFeatures)], output, Int("transB", transB ? 1 : 0));
    }

    public OnnxModel Build() => new(_model.Clone());

    public static ValueInfoProto ValueInfo(string name, DataType type, long[] shape)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = new TensorShapeProto() };
        foreach (long d in shape)
        {
            tensor.Shape.Dim.Add(d > 0 ? new TensorShapeProto.Types.Dimension { DimValue = d } : new TensorShapeProto.Types.Dimension { DimParam = "N" });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}

/// <summary>Random calibration samples for a model's single float input (batch 1 each).</summary>
internal static class Samples
{
    public static InMemoryCalibrationData For(string input, int[] shape, int count, int seed = 7, float scale = 1f, float offset = 0f)
    {
        var random = new Random(seed);
        int n = shape.Aggregate(1, (a, b) => a * b);
        return InMemoryCalibrationData.ForSingleInput(input, Enumerable.Range(0, count).Select(_ =>
            InputTensor.FromFloats(Enumerable.Range(0, n).Select(_ => ((float)((random.NextDouble() * 2) - 1) * scale) + offset).ToArray(), shape)));
    }

    public static float[] Floats(this InputTensor tensor) => (float[])tensor.Data;
}
