using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;
using static Quant.Net.Onnx.Tests.Support.GraphBuilder;

namespace Quant.Net.Onnx.Tests.Onnx;

/// <summary>16-bit and 4-bit types below opset 21 through ONNX Runtime's com.microsoft QuantizeLinear/DequantizeLinear.</summary>
public sealed class MicrosoftQdqTests
{
    private static OnnxModel ConvModel(int opset)
    {
        var g = new GraphBuilder(opset, seed: 3);
        string x = g.Input("x", 1, 3, 8, 8);
        g.Output(g.Node("Relu", [g.Conv(x, 3, 5)], "y"), 1, 5, 8, 8);
        return g.Build();
    }

    [Theory]
    [InlineData(ActivationType.UInt16, WeightType.Int8)]
    [InlineData(ActivationType.UInt8, WeightType.Int4)]
    [InlineData(ActivationType.Int16, WeightType.Int16)]
    public void The_microsoft_domain_keeps_the_opset_and_gives_the_same_outputs_as_opset_21(ActivationType activations, WeightType weights)
    {
        var model = ConvModel(13);
        var data = Samples.For("x", [1, 3, 8, 8], 8);
        var onnx = OnnxQuantizer.Quantize(model, data, new QuantizationConfig { Activations = activations, Weights = weights });
        var microsoft = OnnxQuantizer.Quantize(model, data, new QuantizationConfig { Activations = activations, Weights = weights, QdqDomain = QdqDomain.Microsoft });

        onnx.Model.OpsetVersion.Should().Be(21);
        microsoft.Model.OpsetVersion.Should().Be(13);
        microsoft.Model.Nodes.Where(n => n.OpType is "QuantizeLinear" or "DequantizeLinear").Should().OnlyContain(n => n.Domain == "com.microsoft");
        using var a = new ModelRunner(onnx.Model);
        using var b = new ModelRunner(microsoft.Model);
        foreach (var sample in Samples.For("x", [1, 3, 8, 8], 3, seed: 9).GetSamples())
        {
            b.Run(sample)["y"].Data.Should().Equal(a.Run(sample)["y"].Data, "the same encodings through the other operator set");
        }
    }

    [Fact]
    public void Auto_falls_back_to_the_microsoft_domain_when_opset_21_is_out_of_reach_and_says_why()
    {
        // Resize 10's nearest rounding depends on its scales, computed here at run time: no conversion to 11 exists.
        var g = new GraphBuilder(10, seed: 4);
        string x = g.Input("x", 1, 2, 4, 4);
        string conv = g.Conv(x, 2, 2);
        string scales = g.Node("Add", [g.Initializer("base", [0f, 0f, 1f, 1f], 4), g.Initializer("one", [1f, 1f, 1f, 1f], 4)]);
        g.Output(g.Node("Resize", [conv, scales], "y", n => n.Attribute.Add(new Protobuf.AttributeProto { Name = "mode", Type = Protobuf.AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8("nearest") })), 1, 2, 8, 8);
        var model = g.Build();
        var data = Samples.For("x", [1, 2, 4, 4], 6);

        FluentActions.Invoking(() => OnnxQuantizer.Quantize(model, data, new QuantizationConfig { Activations = ActivationType.UInt16, QdqDomain = QdqDomain.Onnx }))
            .Should().Throw<OnnxFormatException>().WithMessage("*Resize*opset 10 to 11*");
        var result = OnnxQuantizer.Quantize(model, data, new QuantizationConfig { Activations = ActivationType.UInt16 });
        result.Preparation.OpsetNotes.Should().ContainSingle(n => n.Contains("com.microsoft"));
        result.Model.OpsetVersion.Should().Be(10);
        using var fp32 = new ModelRunner(model);
        using var int16 = new ModelRunner(result.Model);
        var sample = data.GetSamples().First();
        var expected = fp32.Run(sample)["y"].Data;
        var actual = int16.Run(sample)["y"].Data;
        for (int i = 0; i < expected.Length; i++)
        {
            actual[i].Should().BeApproximately(expected[i], 0.01f);
        }

        FluentActions.Invoking(() => OnnxQuantizer.Quantize(model, data, new QuantizationConfig { Weights = WeightType.Int4, WeightBlockSize = 32, QdqDomain = QdqDomain.Microsoft }))
            .Should().Throw<ArgumentException>().WithMessage("*Block-wise*");
    }
}
