using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;
using static Quant.Net.Onnx.Tests.Support.GraphBuilder;

namespace Quant.Net.Onnx.Tests.Onnx;

public sealed class PreparationTests
{
    private static OnnxModel ConvBnRelu(int opset = 13, long ir = 7)
    {
        var g = new GraphBuilder(opset, seed: 5, irVersion: ir);
        string x = g.Input("x", 1, 3, 8, 8);
        string c = g.Conv(x, 3, 6, bias: false);
        string b = g.BatchNorm(c, 6);
        string r = g.Node("Relu", [b]);
        string f = g.Node("Flatten", [g.Node("MaxPool", [r], null, All(Ints("kernel_shape", 2, 2), Ints("strides", 2, 2)))]);
        string gemm = g.Gemm(f, 96, 4);
        g.Output(g.BatchNorm(gemm, 4, "y"));
        return g.Build();
    }

    [Fact]
    public void BatchNorm_is_folded_into_conv_and_gemm_and_the_outputs_stay_the_same()
    {
        var model = ConvBnRelu();
        var (prepared, report) = ModelPreparer.Prepare(model);

        report.FoldedBatchNorms.Should().HaveCount(2);
        prepared.Nodes.Should().NotContain(n => n.OpType == "BatchNormalization");
        using var a = new ModelRunner(model);
        using var b = new ModelRunner(prepared);
        foreach (var sample in Samples.For("x", [1, 3, 8, 8], 5).GetSamples())
        {
            var expected = a.Run(sample)["y"].Data;
            var actual = b.Run(sample)["y"].Data;
            for (int i = 0; i < expected.Length; i++)
            {
                actual[i].Should().BeApproximately(expected[i], 1e-4f + (1e-4f * Math.Abs(expected[i])));
            }
        }
    }

    [Fact]
    public void An_opset_8_model_with_initializers_as_inputs_is_moved_to_opset_13_and_quantizes()
    {
        // The CNTK ResNet-18 shape of things: IR 3, opset 8, BatchNorm with `spatial`, weights listed as graph inputs.
        var g = new GraphBuilder(opset: 8, seed: 2, irVersion: 3);
        string x = g.Input("x", 1, 3, 6, 6);
        string c = g.Conv(x, 3, 4, bias: false);
        string b = g.BatchNorm(c, 4);
        g.Graph.Node[^1].Attribute.Add(new Protobuf.AttributeProto { Name = "spatial", Type = Protobuf.AttributeProto.Types.AttributeType.Int, I = 1 });
        g.Output(g.Node("Relu", [g.Node("Add", [b, c])], "y"));
        foreach (var init in g.Graph.Initializer)
        {
            g.Graph.Input.Add(ValueInfo(init.Name, (Protobuf.TensorProto.Types.DataType)init.DataType, [.. init.Dims]));
        }

        var model = g.Build();
        var (prepared, report) = ModelPreparer.Prepare(model);
        report.OpsetFrom.Should().Be(8);
        report.OpsetTo.Should().Be(13);
        prepared.IrVersion.Should().BeGreaterThanOrEqualTo(7);
        prepared.Inputs.Select(i => i.Name).Should().Equal("x");
        prepared.Proto.Graph.Input.Should().ContainSingle("initializers are constants, not inputs");
        report.FoldedBatchNorms.Should().BeEmpty("the conv output also feeds the Add, so the BatchNorm must stay");
        prepared.Proto.Graph.Node.Single(n => n.OpType == "BatchNormalization").Attribute.Should().NotContain(a => a.Name == "spatial");

        var result = OnnxQuantizer.Quantize(model, Samples.For("x", [1, 3, 6, 6], 4));
        using var runner = new ModelRunner(result.Model);
        runner.Run(Samples.For("x", [1, 3, 6, 6], 1).GetSamples().First())["y"].Data.Should().HaveCount(4 * 36);
    }

    [Fact]
    public void Operators_whose_meaning_changed_are_converted_not_refused()
    {
        var g = new GraphBuilder(opset: 11);
        string x = g.Input("x", 1, 2, 10);
        g.Output(g.Node("Softmax", [g.Node("Relu", [x])], "y", Int("axis", 1), name: "head"), 1, 2, 10);
        var (prepared, report) = ModelPreparer.Prepare(g.Build(), 21);
        report.OpsetTo.Should().Be(21);
        report.OpsetNotes.Should().ContainSingle(n => n.Contains("'head'") && n.Contains("Flatten"));
        var result = OnnxQuantizer.Quantize(g.Build(), Samples.For("x", [1, 2, 10], 4), new QuantizationConfig { Activations = ActivationType.UInt16 });
        result.Model.OpsetVersion.Should().Be(21);
        using var runner = new ModelRunner(result.Model);
        runner.Run(Samples.For("x", [1, 2, 10], 1).GetSamples().First())["y"].Data.Sum().Should().BeApproximately(1f, 0.01f, "one softmax over the 2×10 values coerced to 2-D");
    }

    [Fact]
    public void A_missing_initializer_or_a_cycle_is_reported_with_the_node_and_tensor()
    {
        var g = new GraphBuilder();
        g.Output(g.Node("Conv", [g.Input("x", 1, 1, 4, 4), "weights_nobody_wrote"], "y", name: "conv_a"));
        FluentActions.Invoking(() => ModelPreparer.Prepare(g.Build())).Should().Throw<OnnxFormatException>()
            .WithMessage("*'conv_a'*'weights_nobody_wrote'*");

        var cyclic = new GraphBuilder();
        string x = cyclic.Input("x", 1, 4);
        cyclic.Node("Add", [x, "b"], "a", name: "first");
        cyclic.Node("Relu", ["a"], "b", name: "second");
        cyclic.Output("b");
        FluentActions.Invoking(() => ModelPreparer.Prepare(cyclic.Build())).Should().Throw<OnnxFormatException>().WithMessage("*cycle*");
    }

    [Fact]
    public void Unknown_operators_fail_with_onnx_runtimes_reason_when_calibrating()
    {
        var g = new GraphBuilder();
        g.Output(g.Node("NoSuchOp", [g.Node("Relu", [g.Input("x", 1, 4)])], "y", name: "mystery"));
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(g.Build(), Samples.For("x", [1, 4], 2))).Should().Throw<OnnxFormatException>()
            .WithMessage("*NoSuchOp*");
    }

    [Theory]
    [InlineData(13, 7)]
    [InlineData(17, 8)]
    [InlineData(19, 9)]
    [InlineData(21, 10)]
    public void Models_at_opsets_13_to_21_quantize_and_run(int opset, long ir)
    {
        var g = new GraphBuilder(opset, seed: opset, irVersion: ir);
        string x = g.Input("x", 1, 3, 6, 6);
        g.Output(g.Gemm(g.Node("Flatten", [g.Node("Relu", [g.BatchNorm(g.Conv(x, 3, 4, bias: false), 4)])]), 144, 3, output: "y"));
        var result = OnnxQuantizer.Quantize(g.Build(), Samples.For("x", [1, 3, 6, 6], 4));
        result.Model.OpsetVersion.Should().Be(opset);
        using var runner = new ModelRunner(result.Model);
        runner.Run(Samples.For("x", [1, 3, 6, 6], 1).GetSamples().First())["y"].Data.Should().HaveCount(3);
    }

    [Fact]
    public void A_weight_whose_shape_does_not_fit_its_input_is_reported_by_name()
    {
        var g = new GraphBuilder();
        g.Output(g.Node("Gemm", [g.Input("x", 1, 8), g.Random("w_bad", 0.1f, 5, 9)], "y", Int("transB", 1), name: "fc"));
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(g.Build(), Samples.For("x", [1, 8], 2)))
            .Should().Throw<Exception>().Where(e => (e is OnnxFormatException || e is InvalidDataException) && e.Message.Contains("fc", StringComparison.Ordinal));
    }
}
