using FluentAssertions;
using Quant.Net.Onnx.Protobuf;
using Quant.Net.Onnx.Tests.Support;
using static Quant.Net.Onnx.Tests.Support.GraphBuilder;
using DataType = Quant.Net.Onnx.Protobuf.TensorProto.Types.DataType;

namespace Quant.Net.Onnx.Tests.Onnx;

/// <summary>
/// Graph shapes real exporters write — weights in Constant nodes or behind Identity/Cast/Transpose, per-channel
/// scale and shift nodes after a layer, one weight shared by two layers — prepared into what the quantizer handles as
/// weights, with the model's outputs unchanged.
/// </summary>
public sealed class ExportedGraphTests
{
    private static void SameOutputs(OnnxModel a, OnnxModel b, int[] shape, float tolerance)
    {
        using var ra = new ModelRunner(a);
        using var rb = new ModelRunner(b);
        foreach (var sample in Samples.For("x", shape, 3, seed: 5).GetSamples())
        {
            var ya = ra.Run(sample);
            var yb = rb.Run(sample);
            foreach (var (name, expected) in ya)
            {
                var actual = yb[name].Data;
                for (int i = 0; i < actual.Length; i++)
                {
                    actual[i].Should().BeApproximately(expected.Data[i], tolerance * (1 + Math.Abs(expected.Data[i])), name);
                }
            }
        }
    }

    private static NodeProto Constant(GraphBuilder g, string output, TensorProto value)
    {
        var node = new NodeProto { OpType = "Constant", Name = output + "_node", Output = { output } };
        node.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value });
        g.Graph.Node.Add(node);
        return node;
    }

    [Fact]
    public void Weights_in_constant_nodes_or_behind_identity_cast_and_transpose_become_quantizable_initializers()
    {
        var g = new GraphBuilder(seed: 3);
        string x = g.Input("x", 1, 3, 6, 6);
        var random = new Random(2);
        float[] Values(int n, float s) => [.. Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1) * s)];
        Constant(g, "conv_w", TensorData.Create<float>("", Values(4 * 3 * 9, 0.4f), [4, 3, 3, 3]));
        Constant(g, "conv_b", TensorData.Create<float>("", Values(4, 0.1f), [4]));
        string conv = g.Node("Conv", [x, "conv_w", "conv_b"], null, All(Ints("kernel_shape", 3, 3), Ints("pads", 1, 1, 1, 1)));
        string flat = g.Node("Flatten", [g.Node("Relu", [conv])]);
        // MatMul weight stored as float16 [out, in] behind Cast, Transpose and Identity, as some exporters write it.
        var half = Values(5 * 144, 0.2f).Select(v => (Half)v).ToArray();
        g.Graph.Initializer.Add(new TensorProto { Name = "fc_w_fp16", DataType = (int)DataType.Float16, Dims = { 5, 144 },
            RawData = Google.Protobuf.ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(half.AsSpan())) });
        string cast = g.Node("Cast", ["fc_w_fp16"], null, Int("to", (long)DataType.Float));
        string transposed = g.Node("Transpose", [cast], null, Ints("perm", 1, 0));
        string weight = g.Node("Identity", [transposed]);
        g.Output(g.Node("MatMul", [flat, weight], "y"), 1, 5);
        var model = g.Build();

        var (prepared, report) = ModelPreparer.Prepare(model);
        report.ConstantNodes.Should().Be(2);
        report.FoldedNodes.Should().Be(3);
        prepared.Nodes.Select(n => n.OpType).Should().Equal("Conv", "Relu", "Flatten", "MatMul");
        SameOutputs(model, prepared, [1, 3, 6, 6], 1e-6f);

        var result = OnnxQuantizer.Quantize(model, Samples.For("x", [1, 3, 6, 6], 8));
        result.Encodings.Where(e => e.Tensor.Role == TensorRole.Weight).Should().HaveCount(2, "both weights are per-channel weights, not calibrated activations");
        result.Encodings.Should().ContainSingle(e => e.Tensor.Role == TensorRole.Bias);
        model.Nodes.Should().Contain(n => n.OpType == "Constant", "the input model is never modified");
    }

    [Fact]
    public void Per_channel_scale_and_shift_nodes_fold_into_the_layer_before_and_shared_weights_are_copied()
    {
        var g = new GraphBuilder(seed: 4);
        string x = g.Input("x", 1, 3, 5, 5);
        string w = g.Random("w", 0.5f, 4, 3, 3, 3);
        var conv = Attrs();
        string a = g.Node("Conv", [x, w, g.Random("b", 0.1f, 4)], null, conv);
        string scaled = g.Node("Mul", [g.Random("s", 2f, 4, 1, 1), a]);
        string shifted = g.Node("Add", [scaled, g.Random("t", 1f, 1, 4, 1, 1)]);
        g.Output(g.Node("Div", [shifted, g.Initializer("d", [4f], [])], "y"), 1, 4, 5, 5);
        // The same weight in a second Conv, whose output is not scaled: it must keep the original values.
        g.Output(g.Node("Conv", [x, w], "z", conv), 1, 4, 5, 5);
        string gemm = g.Gemm(g.Node("Flatten", [x]), 75, 6);
        g.Output(g.Node("Sub", [gemm, g.Random("u", 1f, 6)], "v"), 1, 6);
        var model = g.Build();

        var (prepared, report) = ModelPreparer.Prepare(model);
        report.FoldedScaleShifts.Should().HaveCount(4);
        prepared.Nodes.Select(n => n.OpType).Should().NotContain(["Mul", "Add", "Div", "Sub"]);
        SameOutputs(model, prepared, [1, 3, 5, 5], 1e-5f);
        prepared.Proto.Graph.Node.Single(n => n.Output[0] == "z").Input[1].Should().Be("w");
    }

    private static Action<NodeProto> Attrs() => All(Ints("kernel_shape", 3, 3), Ints("pads", 1, 1, 1, 1));

    [Fact]
    public void A_scale_that_is_not_per_output_channel_is_left_alone()
    {
        var g = new GraphBuilder(seed: 6);
        string x = g.Input("x", 1, 2, 4, 4);
        string conv = g.Node("Conv", [x, g.Random("w", 0.5f, 3, 2, 3, 3)], null, Attrs());
        g.Output(g.Node("Mul", [conv, g.Random("s", 1f, 1, 1, 4, 1)], "y"), 1, 3, 4, 4);
        var (prepared, report) = ModelPreparer.Prepare(g.Build());
        report.FoldedScaleShifts.Should().BeEmpty();
        prepared.Nodes.Should().Contain(n => n.OpType == "Mul");
    }
}
