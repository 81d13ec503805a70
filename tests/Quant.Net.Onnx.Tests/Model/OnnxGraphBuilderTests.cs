using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Onnx;

public sealed class OnnxGraphBuilderTests
{
    [Fact]
    public void A_model_built_in_code_runs_and_quantizes_at_4_bit_activations_and_2_bit_weights()
    {
        var random = new Random(2);
        float[] Values(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1) * 0.3f)];
        var model = new OnnxGraphBuilder(13)
            .AddInput("x", null, 16).AddOutput("y", null, 4)
            .AddInitializer("w0", Values(32 * 16), 32, 16).AddInitializer("b0", Values(32), 32)
            .AddInitializer("w1", Values(4 * 32), 4, 32)
            .AddNode("Gemm", ["x", "w0", "b0"], ["h"], new Dictionary<string, object> { ["transB"] = 1L })
            .AddNode("Relu", ["h"], ["r"])
            .AddNode("Gemm", ["r", "w1"], ["y"], new Dictionary<string, object> { ["transB"] = 1L, ["alpha"] = 1f })
            .Build();
        model.Nodes.Select(n => n.OpType).Should().Equal("Gemm", "Relu", "Gemm");
        var data = Samples.For("x", [1, 16], 16);
        using var fp32 = new ModelRunner(model);
        fp32.Run(data.GetSamples().First())["y"].Data.Should().HaveCount(4);

        var result = OnnxQuantizer.Quantize(model, data, new QuantizationConfig { Weights = WeightType.Int2, Activations = ActivationType.UInt4 });
        result.Model.OpsetVersion.Should().Be(21);
        result.Encodings.Where(e => e.Tensor.Role == TensorRole.Activation).Should().OnlyContain(e => e.BitWidth == 4);
        result.Encodings.Where(e => e.Tensor.Role == TensorRole.Weight).Should().OnlyContain(e => e.BitWidth == 2 && e.Encoding!.Scheme.QMin == -2);
        using var q = new ModelRunner(result.Model);
        q.Run(data.GetSamples().First())["y"].Data.Should().OnlyContain(v => float.IsFinite(v));
    }

    [Fact]
    public void Bad_nodes_are_reported()
    {
        FluentActions.Invoking(() => new OnnxGraphBuilder().AddInput("x", 1).AddNode("Relu", ["nothing"], ["y"]).AddOutput("y", 1).Build())
            .Should().Throw<OnnxFormatException>().WithMessage("*'nothing'*");
        FluentActions.Invoking(() => new OnnxGraphBuilder().AddNode("Relu", ["x"], ["y"], new Dictionary<string, object> { ["odd"] = 1.5 }))
            .Should().Throw<ArgumentException>().WithMessage("*'odd'*");
        FluentActions.Invoking(() => new OnnxGraphBuilder().AddInitializer("w", [1f, 2f], 3)).Should().Throw<ArgumentException>().WithMessage("*'w'*");
    }
}
