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

    [Fact]
    public void One_weight_read_by_two_layers_is_quantized_once_and_both_layers_read_it()
    {
        var g = new GraphBuilder(seed: 7);
        string x = g.Input("x", 1, 3, 5, 5);
        string w = g.Random("shared", 0.5f, 3, 3, 3, 3);
        string first = g.Node("Relu", [g.Node("Conv", [x, w], null, Attrs())]);
        g.Output(g.Node("Conv", [first, w], "y", Attrs()), 1, 3, 5, 5);
        var model = g.Build();
        var result = OnnxQuantizer.Quantize(model, Samples.For("x", [1, 3, 5, 5], 8));
        result.Encodings.Should().ContainSingle(e => e.Tensor.Name == "shared");
        var dq = result.Model.Proto.Graph.Node.Single(n => n.OpType == "DequantizeLinear" && n.Output[0] == "shared");
        result.Model.Proto.Graph.Node.Count(n => n.OpType == "Conv" && n.Input[1] == dq.Output[0]).Should().Be(2);
        var report = ModelComparer.Compare(model, result, Samples.For("x", [1, 3, 5, 5], 3, seed: 4), latencyRuns: 0, perLayer: false);
        report.Outputs.Single().SqnrDecibels.Should().BeGreaterThan(25);
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

    [Fact]
    public void A_reshape_built_from_its_inputs_own_dimensions_gets_a_constant_shape_and_the_shape_arithmetic_goes()
    {
        var g = new GraphBuilder(13, seed: 8);
        string x = g.Input("x", 1, 5, 8);
        string y = g.Node("MatMul", [x, g.Random("w", 0.5f, 8, 8)]);
        g.Graph.Initializer.Add(TensorData.Create<long>("zero", [0L], []));
        g.Graph.Initializer.Add(TensorData.Create<long>("one", [1L], []));
        g.Graph.Initializer.Add(TensorData.Create<long>("axis0", [0L], [1]));
        g.Graph.Initializer.Add(TensorData.Create<long>("heads", [2L], [1]));
        g.Graph.Initializer.Add(TensorData.Create<long>("width", [4L], [1]));
        string Dim(string tensor, string which) => g.Node("Unsqueeze", [g.Node("Gather", [g.Node("Shape", [tensor]), which]), "axis0"]);
        // x.reshape(x.shape[0], x.shape[1], 2, 4), as exporters write attention heads: folds to [0, 0, 2, 4].
        string heads = g.Node("Reshape", [y, g.Node("Concat", [Dim(y, "zero"), Dim(y, "one"), "heads", "width"], null, Int("axis", 0))]);
        g.Output(g.Node("Transpose", [heads], "a", Ints("perm", 0, 2, 1, 3)), 1, 2, 5, 4);
        // Dimensions in other places (y.shape[1] first) are not a copy of the same position: left as they are.
        string swapped = g.Node("Reshape", [y, g.Node("Concat", [Dim(y, "one"), Dim(y, "zero"), "width", "heads"], null, Int("axis", 0))]);
        g.Output(g.Node("Identity", [swapped], "b"), 5, 1, 4, 2);
        var model = g.Build();

        var (prepared, report) = ModelPreparer.Prepare(model);
        report.FoldedReshapes.Should().Be(1);
        var folded = prepared.Nodes.Single(n => n.OpType == "Reshape" && n.Inputs[1].EndsWith("_folded", StringComparison.Ordinal));
        TensorData.ToInt64(prepared.Graph.Initializer.Single(i => i.Name == folded.Inputs[1])).Should().Equal(0L, 0L, 2L, 4L);
        prepared.Nodes.Count(n => n.OpType == "Shape").Should().Be(2, "only the unfolded Reshape's two dimensions still read a shape");
        SameOutputs(model, prepared, [1, 5, 8], 0f);
    }
}

public sealed class SubgraphAndFloat16Tests
{
    [Fact]
    public void A_branch_reading_a_quantized_tensor_from_the_outer_graph_keeps_a_runnable_sorted_model()
    {
        var g = new GraphBuilder(seed: 8);
        string x = g.Input("x", 1, 2, 4, 4);
        string conv = g.Conv(x, 2, 3);
        string relu = g.Node("Relu", [conv]);
        g.Graph.Input.Add(ValueInfo("flag", DataType.Int64, []));
        string condition = g.Node("Cast", ["flag"], null, Int("to", (long)DataType.Bool));
        GraphProto Branch(string op)
        {
            var b = new GraphBuilder();
            b.Graph.Name = op;
            b.Node(op, [relu], $"{op}_out");
            b.Graph.Output.Add(ValueInfo($"{op}_out", DataType.Float, [1, 3, 4, 4]));
            return b.Graph;
        }

        var node = new NodeProto { OpType = "If", Name = "branch", Input = { condition }, Output = { "y" } };
        node.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Branch("Sigmoid") });
        node.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Branch("Tanh") });
        // The If node comes first in the file: only the outer-scope read orders it after the Conv.
        g.Graph.Node.Insert(0, node);
        g.Output("y", 1, 3, 4, 4);
        var model = g.Build();
        var samples = new InMemoryCalibrationData(Samples.For("x", [1, 2, 4, 4], 6).GetSamples().Select(s =>
            (IReadOnlyDictionary<string, InputTensor>)new Dictionary<string, InputTensor>(s) { ["flag"] = InputTensor.FromInt64([1]) }));

        var result = OnnxQuantizer.Quantize(model, samples);
        result.QuantizedNodes.Should().Contain(n => n.StartsWith("Conv", StringComparison.Ordinal));
        var nodes = result.Model.Proto.Graph.Node.ToList();
        nodes.FindIndex(n => n.OpType == "If").Should().BeGreaterThan(nodes.FindLastIndex(n => n.OpType == "DequantizeLinear"));
        using var fp32 = new ModelRunner(model);
        using var int8 = new ModelRunner(result.Model);
        var sample = samples.GetSamples().First();
        var expected = fp32.Run(sample)["y"].Data;
        var actual = int8.Run(sample)["y"].Data;
        for (int i = 0; i < expected.Length; i++)
        {
            actual[i].Should().BeApproximately(expected[i], 0.05f);
        }
    }

    private static TensorProto Half16(string name, float[] values, params long[] dims)
    {
        var half = values.Select(v => (Half)v).ToArray();
        var t = new TensorProto { Name = name, DataType = (int)DataType.Float16, RawData = Google.Protobuf.ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(half.AsSpan())) };
        t.Dims.Add(dims);
        return t;
    }

    [Fact]
    public void A_float16_model_is_quantized_through_float32_and_keeps_its_interface()
    {
        // Float32 in and out, float16 inside (IS-Net's shape): the convolutions are quantized and the model runs.
        var g = new GraphBuilder(seed: 9);
        string x = g.Input("x", 1, 3, 6, 6);
        var random = new Random(4);
        g.Graph.Initializer.Add(Half16("w", [.. Enumerable.Range(0, 4 * 3 * 9).Select(_ => (float)(random.NextDouble() - 0.5))], 4, 3, 3, 3));
        g.Graph.Initializer.Add(Half16("b", [0.1f, -0.2f, 0.3f, 0f], 4));
        string h = g.Node("Cast", [x], null, Int("to", (long)DataType.Float16));
        string conv = g.Node("Conv", [h, "w", "b"], null, All(Ints("kernel_shape", 3, 3), Ints("pads", 1, 1, 1, 1)));
        g.Output(g.Node("Cast", [g.Node("Relu", [conv])], "y", Int("to", (long)DataType.Float)), 1, 4, 6, 6);
        var model = g.Build();

        var result = OnnxQuantizer.Quantize(model, Samples.For("x", [1, 3, 6, 6], 8));
        result.Preparation.Float16Changes.Should().BeGreaterThan(0);
        result.Encodings.Should().Contain(e => e.Tensor.Role == TensorRole.Weight && e.Tensor.Name.StartsWith('w'));
        var report = ModelComparer.Compare(model, result, Samples.For("x", [1, 3, 6, 6], 4, seed: 12), latencyRuns: 0, perLayer: false);
        report.Outputs[0].SqnrDecibels.Should().BeGreaterThan(25);

        // Float16 in and out: the interface stays float16, with casts at the edges.
        var f = new GraphBuilder(seed: 10);
        f.Graph.Input.Add(ValueInfo("x", DataType.Float16, [1, 4]));
        f.Graph.Initializer.Add(Half16("m", [.. Enumerable.Range(0, 12).Select(i => i / 10f)], 4, 3));
        f.Node("MatMul", ["x", "m"], "y");
        f.Graph.Output.Add(ValueInfo("y", DataType.Float16, [1, 3]));
        var (prepared, _) = ModelPreparer.Prepare(f.Build());
        prepared.Proto.Graph.Input.Single().Type.TensorType.ElemType.Should().Be((int)DataType.Float16);
        prepared.Proto.Graph.Output.Single().Type.TensorType.ElemType.Should().Be((int)DataType.Float16);
        prepared.Proto.Graph.Initializer.Single(i => i.Name == "m").DataType.Should().Be((int)DataType.Float);
        prepared.Nodes.Select(n => n.OpType).Should().Equal("Cast", "MatMul", "Cast");
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(prepared.ToBytes());
    }
}
