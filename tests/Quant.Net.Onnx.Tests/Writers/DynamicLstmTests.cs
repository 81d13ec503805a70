using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;
using static Quant.Net.Onnx.Tests.Support.GraphBuilder;

namespace Quant.Net.Onnx.Tests.Onnx;

/// <summary>Dynamic quantization of LSTM weights into ONNX Runtime's DynamicQuantizeLSTM, as its dynamic quantizer does.</summary>
public sealed class DynamicLstmTests
{
    [Theory]
    [InlineData("forward", 1)]
    [InlineData("bidirectional", 2)]
    public void Lstm_weights_become_int8_and_the_outputs_follow_fp32(string direction, int dirs)
    {
        const int seq = 7, batch = 1, input = 12, hidden = 16;
        var g = new GraphBuilder(14, seed: dirs);
        string x = g.Input("x", seq, batch, input);
        string w = g.Random("W", 0.4f, dirs, 4 * hidden, input);
        string r = g.Random("R", 0.3f, dirs, 4 * hidden, hidden);
        string b = g.Random("B", 0.1f, dirs, 8 * hidden);
        var node = g.Graph;
        g.Node("LSTM", [x, w, r, b], "y", All(Int("hidden_size", hidden), n => n.Attribute.Add(new Protobuf.AttributeProto
        {
            Name = "direction", Type = Protobuf.AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8(direction),
        })));
        g.Graph.Node[^1].Output.Add("y_h");
        g.Output("y", seq, dirs, batch, hidden).Output("y_h", dirs, batch, hidden);
        var model = g.Build();

        var result = OnnxQuantizer.Quantize(model, null, new QuantizationConfig { Mode = QuantizationMode.Dynamic });
        result.Model.Nodes.Should().ContainSingle(n => n.OpType == "DynamicQuantizeLSTM" && n.Domain == "com.microsoft");
        result.Model.InitializerBytes.Should().BeLessThan(model.InitializerBytes * 2 / 5, "int8 weights (with a float scale per gate row) replace the float ones; the bias stays float");
        result.Encodings.Should().HaveCount(2).And.OnlyContain(e => e.Tensor.Role == TensorRole.Weight && e.Encoding!.Count == dirs * 4 * hidden);

        var report = ModelComparer.Compare(model, result, Samples.For("x", [seq, batch, input], 4, seed: 5, scale: 2f), latencyRuns: 0, perLayer: false);
        report.Outputs.Should().OnlyContain(o => o.CosineSimilarity > 0.999 && o.SqnrDecibels > 30);
    }
}

/// <summary>Static mode stores recurrent weights as integers read through DequantizeLinear (weight-only).</summary>
public sealed class RecurrentWeightOnlyTests
{
    [Theory]
    [InlineData("LSTM", 4)]
    [InlineData("GRU", 3)]
    [InlineData("RNN", 1)]
    public void Recurrent_weights_are_int8_per_gate_row_and_the_layer_follows_fp32(string op, int gates)
    {
        const int seq = 6, batch = 2, input = 10, hidden = 12;
        var g = new GraphBuilder(14, seed: gates);
        string x = g.Input("x", seq, batch, input);
        string w = g.Random("W", 0.4f, 1, gates * hidden, input);
        string r = g.Random("R", 0.3f, 1, gates * hidden, hidden);
        string b = g.Random("B", 0.1f, 1, 2 * gates * hidden);
        g.Node(op, [x, w, r, b], "y", Int("hidden_size", hidden));
        g.Output("y", seq, 1, batch, hidden);
        var model = g.Build();

        var result = OnnxQuantizer.Quantize(model, Samples.For("x", [seq, batch, input], 8, scale: 2f));
        result.QuantizedNodes.Should().ContainSingle();
        result.Encodings.Where(e => e.Tensor.Role == TensorRole.Weight).Should().HaveCount(2).And.OnlyContain(e => e.Encoding!.Count == gates * hidden);
        var initializers = result.Model.Proto.Graph.Initializer.ToDictionary(i => i.Name);
        initializers.Should().NotContainKeys(["W", "R"], "the float weights are replaced");
        initializers["W_quantized"].DataType.Should().Be((int)Protobuf.TensorProto.Types.DataType.Int8);
        initializers["R_quantized"].DataType.Should().Be((int)Protobuf.TensorProto.Types.DataType.Int8);
        var report = ModelComparer.Compare(model, result, Samples.For("x", [seq, batch, input], 3, seed: 9, scale: 2f), latencyRuns: 0, perLayer: false);
        report.Outputs.Single().SqnrDecibels.Should().BeGreaterThan(35);
    }
}
