using FluentAssertions;
using Quant.Net.Onnx.Protobuf;
using Quant.Net.Onnx.Tests.Support;
using static Quant.Net.Onnx.Tests.Support.GraphBuilder;
using DataType = Quant.Net.Onnx.Protobuf.TensorProto.Types.DataType;

namespace Quant.Net.Onnx.Tests.Onnx;

/// <summary>
/// Every opset adapter on a model built at the old opset: ONNX Runtime runs the original and the converted model on the
/// same inputs, and every output (values, element type, shape) is identical to the bit.
/// </summary>
public sealed class OpsetConversionTests
{
    private static Action<NodeProto> Str(string name, string value) =>
        n => n.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8(value) });

    private static Action<NodeProto> Floats(string name, params float[] values) => n =>
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
        a.Floats.Add(values);
        n.Attribute.Add(a);
    };

    /// <summary>Runs the model on seeded random inputs (float inputs in [-2, 2], int64 inputs in [0, 3)) and returns each output's type, shape and bytes (<see cref="OrtExact"/>).</summary>
    private static Dictionary<string, (string Type, long[] Shape, byte[] Bytes)> Run(OnnxModel model, int seed = 3)
    {
        var random = new Random(seed);
        var inputs = new Dictionary<string, InputTensor>(StringComparer.Ordinal);
        foreach (var input in model.Proto.Graph.Input)
        {
            int[] shape = [.. input.Type.TensorType.Shape.Dim.Select(d => d.DimValue > 0 ? (int)d.DimValue : 1)];
            int count = shape.Aggregate(1, (a, b) => a * b);
            inputs[input.Name] = (DataType)input.Type.TensorType.ElemType == DataType.Int64
                ? InputTensor.FromInt64([.. Enumerable.Range(0, count).Select(_ => (long)random.Next(3))], shape)
                : InputTensor.FromFloats([.. Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 4) - 2))], shape);
        }

        return OrtExact.Run(model.ToBytes(), inputs, [.. model.Proto.Graph.Output.Select(o => o.Name)]);
    }

    /// <summary>Converts to <paramref name="to"/>, checks the opset and op types, and compares every output bit for bit.</summary>
    private static OnnxModel ConvertsExactly(OnnxModel model, int to, params string[] absentOps)
    {
        var (converted, _) = OpsetConverter.Convert(model, to);
        converted.OpsetVersion.Should().Be(to);
        model.OpsetVersion.Should().BeLessThan(to, "the input model is never modified");
        if (absentOps.Length > 0)
        {
            converted.Nodes.Select(n => n.OpType).Should().NotContain(absentOps);
        }

        var expected = Run(model);
        var again = Run(model);
        foreach (var (name, e) in expected)
        {
            again[name].Bytes.Should().Equal(e.Bytes, $"the oracle must be deterministic: a second run of the original gives other bits for '{name}'");
        }

        var actual = Run(converted);
        actual.Keys.Should().BeEquivalentTo(expected.Keys);
        foreach (var (name, e) in expected)
        {
            actual[name].Type.Should().Be(e.Type, name);
            actual[name].Shape.Should().Equal(e.Shape, name);
            actual[name].Bytes.Should().Equal(e.Bytes, $"output '{name}' must be bit-identical after conversion");
        }

        return converted;
    }

    private static GraphBuilder At(int opset) => new(opset, seed: opset);

    [Theory]
    [InlineData("Softmax", 1, true)]
    [InlineData("Softmax", 2, true)]
    [InlineData("Softmax", -1, true)]
    [InlineData("LogSoftmax", 1, false)]
    [InlineData("Hardmax", 2, false)]
    [InlineData("Softmax", 0, false)]
    public void Softmax_family_on_a_coerced_2D_input_keeps_its_values_at_opset_13(string op, long axis, bool rankKnown)
    {
        var g = At(11);
        string x = g.Input("x", 2, 3, 4, 5);
        // Relu keeps the rank known; CumSum hides it from the rank inference, so the general rewrite runs.
        string input = rankKnown ? g.Node("Relu", [x]) : g.Node("CumSum", [x, g.Initializer("cumsum_axis", [0f], 1)]);
        if (!rankKnown)
        {
            g.Graph.Initializer.Clear();
            g.Graph.Initializer.Add(TensorData.Scalar("cumsum_axis", 1L));
        }

        g.Output(g.Node(op, [input], "y", Int("axis", axis)), 2, 3, 4, 5);
        if (!rankKnown)
        {
            g.Graph.Output.Clear();
            g.Graph.Output.Add(ValueInfo("y", DataType.Float, []));
            g.Graph.Output[0].Type.TensorType.Shape = null;
        }

        var converted = ConvertsExactly(g.Build(), 13);
        bool simple = rankKnown && axis is 3 or -1;
        converted.Nodes.Any(n => n.OpType == "Flatten").Should().Be(!simple);
    }

    [Fact]
    public void Squeeze_unsqueeze_and_reduce_sum_take_axes_as_inputs_from_opset_13()
    {
        var g = At(11);
        string x = g.Input("x", 1, 3, 1, 4);
        string s = g.Node("Squeeze", [x], null, Ints("axes", 0, 2));
        string u = g.Node("Unsqueeze", [s], null, Ints("axes", -1));
        g.Output(g.Node("ReduceSum", [u], "y", All(Ints("axes", 1), Int("keepdims", 0))), 3, 1);
        g.Output(g.Node("ReduceSum", [x], "all", Int("keepdims", 1)), 1, 1, 1, 1);
        var converted = ConvertsExactly(g.Build(), 13);
        converted.Proto.Graph.Node.Where(n => n.OpType != "ReduceSum" || n.Output[0] == "y").Should().OnlyContain(n => n.Input.Count == 2);
    }

    [Theory]
    [InlineData("ReduceMean")]
    [InlineData("ReduceMax")]
    [InlineData("ReduceMin")]
    [InlineData("ReduceProd")]
    [InlineData("ReduceL1")]
    [InlineData("ReduceL2")]
    [InlineData("ReduceLogSumExp")]
    [InlineData("ReduceSumSquare")]
    public void Reductions_take_axes_as_inputs_from_opset_18(string op)
    {
        var g = At(13);
        string x = g.Input("x", 2, 3, 4);
        string input = op == "ReduceLogSum" ? g.Node("Abs", [x]) : x;
        g.Output(g.Node(op, [input], "y", All(Ints("axes", 1, -1), Int("keepdims", 0))), 2);
        g.Output(g.Node(op, [input], "z", Int("keepdims", 1)), 1, 1, 1);
        ConvertsExactly(g.Build(), 18);
    }

    [Fact]
    public void Split_moves_its_sizes_to_an_input_at_13_and_names_its_output_count_at_18()
    {
        var g = At(11);
        string x = g.Input("x", 2, 7);
        var split = g.Node("Split", [x], "a", All(Int("axis", 1), Ints("split", 2, 5)));
        g.Graph.Node[^1].Output.Add("b");
        g.Node("Split", [x], "c", Int("axis", 0));
        g.Graph.Node[^1].Output.Add("d");
        g.Output("a", 2, 2).Output("b", 2, 5).Output("c", 1, 7).Output("d", 1, 7);
        var converted = ConvertsExactly(g.Build(), 18);
        converted.Proto.Graph.Node.Last().Attribute.Should().Contain(a => a.Name == "num_outputs" && a.I == 2);
    }

    [Fact]
    public void Clip_and_pad_take_their_attributes_as_inputs_from_opset_11()
    {
        var g = At(10);
        string x = g.Input("x", 1, 2, 3, 3);
        string c = g.Node("Clip", [x], null, All(Float("min", -0.5f), Float("max", 1.25f)));
        string m = g.Node("Clip", [c], null, Float("max", 0.75f));
        g.Output(g.Node("Pad", [m], "y", All(Ints("pads", 0, 0, 1, 2, 0, 0, 2, 1), Float("value", 0.5f))), 1, 2, 6, 6);
        g.Output(g.Node("Pad", [x], "r", All(Ints("pads", 0, 0, 1, 1, 0, 0, 1, 1), Str("mode", "reflect"))), 1, 2, 5, 5);
        ConvertsExactly(g.Build(), 13);
    }

    [Theory]
    [InlineData("nearest", 2f, 3f)]
    [InlineData("nearest", 1f, 2f)]
    [InlineData("linear", 2f, 1.5f)]
    [InlineData("nearest", 0.5f, 0.75f)]
    [InlineData("linear", 0.5f, 0.6f)]
    public void Resize_10_keeps_its_asymmetric_coordinates_and_rounding_at_opset_11_and_later(string mode, float sh, float sw)
    {
        var g = At(10);
        string x = g.Input("x", 1, 2, 8, 8);
        string scales = g.Initializer("scales", [1f, 1f, sh, sw], 4);
        g.Output(g.Node("Resize", [x, scales], "y", Str("mode", mode)), 1, 2, (long)(8 * sh), (long)(8 * sw));
        ConvertsExactly(g.Build(), 13);
        ConvertsExactly(g.Build(), 19);
    }

    [Theory]
    [InlineData(7, "nearest")]
    [InlineData(7, "linear")]
    [InlineData(9, "nearest")]
    [InlineData(9, "linear")]
    public void Upsample_becomes_resize_with_the_same_values(int opset, string mode)
    {
        var g = At(opset);
        string x = g.Input("x", 1, 2, 5, 4);
        string y = opset == 7
            ? g.Node("Upsample", [x], "y", All(Str("mode", mode), Floats("scales", 1f, 1f, 2f, 3f)))
            : g.Node("Upsample", [x, g.Initializer("scales", [1f, 1f, 2f, 3f], 4)], "y", Str("mode", mode));
        g.Output(y, 1, 2, 10, 12);
        ConvertsExactly(g.Build(), 13, "Upsample");
    }

    [Fact]
    public void Slice_topk_and_scatter_move_to_their_opset_10_and_11_signatures()
    {
        var g = At(9);
        string x = g.Input("x", 3, 8);
        g.Output(g.Node("Slice", [x], "s", All(Ints("starts", 1, -6), Ints("ends", 3, 100), Ints("axes", 0, 1))), 2, 6);
        g.Node("TopK", [x], "values", All(Int("k", 3), Int("axis", 1)));
        g.Graph.Node[^1].Output.Add("indices");
        g.Output("values", 3, 3);
        g.Graph.Output.Add(ValueInfo("indices", DataType.Int64, [3, 3]));
        string indices = g.Initializer("zeros", new float[6], 2, 3);
        var cast = g.Node("Cast", [indices], null, Int("to", (long)DataType.Int64));
        g.Output(g.Node("Scatter", [x, cast, g.Node("Slice", [x], null, All(Ints("starts", 0, 0), Ints("ends", 2, 3)))], "scattered", Int("axis", 1)), 3, 8);
        ConvertsExactly(g.Build(), 11, "Scatter");
    }

    [Fact]
    public void Dropout_batchnorm_and_old_attributes_move_from_opset_7_to_14()
    {
        var g = new GraphBuilder(7, seed: 4, irVersion: 3);
        string x = g.Input("x", 2, 3, 4, 4);
        string d = g.Node("Dropout", [x], null, Float("ratio", 0.3f));
        string b = g.BatchNorm(d, 3);
        g.Graph.Node[^1].Attribute.Add(new AttributeProto { Name = "spatial", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        g.Output(g.Node("Gemm", [g.Node("Flatten", [b]), g.Random("w", 0.3f, 48, 5), g.Random("c", 0.2f, 5)], "y"), 2, 5);
        var converted = ConvertsExactly(g.Build(), 14);
        converted.Proto.Graph.Node.Single(n => n.OpType == "Dropout").Input.Should().HaveCount(2);
        converted.Proto.Graph.Node.Single(n => n.OpType == "BatchNormalization").Attribute.Should().NotContain(a => a.Name == "spatial");
    }

    [Fact]
    public void Group_normalization_scale_and_bias_per_group_become_per_channel_at_opset_21()
    {
        var g = At(18);
        string x = g.Input("x", 2, 6, 3, 3);
        g.Output(g.Node("GroupNormalization", [x, g.Random("scale", 1f, 3), g.Random("bias", 1f, 3)], "y", All(Int("num_groups", 3), Float("epsilon", 1e-5f))), 2, 6, 3, 3);
        ConvertsExactly(g.Build(), 21);
    }

    [Fact]
    public void Grid_sample_modes_and_roi_align_coordinates_keep_their_meaning()
    {
        var g = At(16);
        string x = g.Input("x", 1, 2, 5, 5);
        string grid = g.Random("grid", 1.1f, 1, 4, 3, 2);
        g.Output(g.Node("GridSample", [x, grid], "bilinear", Str("mode", "bilinear")), 1, 2, 4, 3);
        g.Output(g.Node("GridSample", [x, grid], "bicubic", Str("mode", "bicubic")), 1, 2, 4, 3);
        g.Output(g.Node("GridSample", [x, grid], "default"), 1, 2, 4, 3);
        string rois = g.Initializer("rois", [0.5f, 0.5f, 3.2f, 4.1f, 1f, 0f, 4f, 2.5f], 2, 4);
        string batch = g.Node("Cast", [g.Initializer("batch", [0f, 0f], 2)], null, Int("to", (long)DataType.Int64));
        g.Output(g.Node("RoiAlign", [x, rois, batch], "roi", All(Int("output_height", 2), Int("output_width", 3), Float("spatial_scale", 1f))), 2, 2, 2, 3);
        ConvertsExactly(g.Build(), 20);
    }

    [Fact]
    public void Subgraph_nodes_are_converted_with_the_model()
    {
        var g = At(11);
        string x = g.Input("x", 2, 5);
        var cond = g.Graph.Input;
        g.Graph.Input.Add(ValueInfo("flag", DataType.Bool, [1]));
        GraphProto Branch(string op)
        {
            var b = new GraphBuilder(11);
            b.Graph.Name = op;
            b.Node(op, [x], $"{op}_out", Int("axis", 1));
            b.Graph.Output.Add(ValueInfo($"{op}_out", DataType.Float, [2, 5]));
            return b.Graph;
        }

        var node = new NodeProto { OpType = "If", Name = "branch", Input = { "flag" }, Output = { "y" } };
        node.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Branch("Softmax") });
        node.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Branch("LogSoftmax") });
        g.Graph.Node.Add(node);
        g.Output("y", 2, 5);
        var (converted, _) = OpsetConverter.Convert(g.Build(), 13);
        var branches = converted.Proto.Graph.Node.Single(n => n.OpType == "If").Attribute.Select(a => a.G).ToList();
        branches.Should().OnlyContain(b => b.Node.Single().Attribute.Single(a => a.Name == "axis").I == -1);
    }

    [Fact]
    public void Image_scaler_of_old_zoo_models_becomes_mul_and_add()
    {
        var g = At(8);
        string x = g.Input("x", 1, 3, 4, 4);
        g.Output(g.Node("ImageScaler", [x], "y", All(Float("scale", 0.5f), Floats("bias", -1f, 0.25f, 2f))), 1, 3, 4, 4);
        ConvertsExactly(g.Build(), 13, "ImageScaler");
    }

    [Fact]
    public void Opset_4_and_6_attributes_are_converted_to_what_opset_7_runs()
    {
        // ONNX Runtime does not run opsets below 7: the converted model is checked against hand-computed values.
        var g = new GraphBuilder(4, irVersion: 3);
        string x = g.Input("x", 2, 3);
        string r = g.Node("Reshape", [x], null, Ints("shape", 3, 2));
        string b = g.Initializer("b", [10f, 20f, 30f], 3);
        g.Node("Add", [r, b], "sum", All(Int("broadcast", 1), Int("axis", 0)));
        g.Graph.Node[^1].Attribute.Add(new AttributeProto { Name = "consumed_inputs", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0, 0 } });
        g.Output("sum", 3, 2);
        var (converted, _) = OpsetConverter.Convert(g.Build(), 13);
        using var runner = new ModelRunner(converted);
        var y = runner.Run(new Dictionary<string, InputTensor> { ["x"] = InputTensor.FromFloats([1, 2, 3, 4, 5, 6], 2, 3) })["sum"].Data;
        y.Should().Equal(11f, 12f, 23f, 24f, 35f, 36f);
    }

    [Fact]
    public void What_cannot_be_converted_is_refused_naming_node_operator_and_opsets()
    {
        var g = At(10);
        string x = g.Input("x", 1, 1, 4, 4);
        g.Output(g.Node("Resize", [x, g.Initializer("s", [1f, 1f, 2f, 0.5f], 4)], "y", Str("mode", "nearest"), name: "mixed"), 1, 1, 8, 2);
        FluentActions.Invoking(() => OpsetConverter.Convert(g.Build(), 13)).Should().Throw<OnnxFormatException>()
            .WithMessage("Node 'mixed' (Resize) cannot be converted from opset 10 to 11 (on the way from 10 to 13): *");

        var u = At(13);
        u.Output(u.Node("NoSuchOp", [u.Input("x", 2)], "y", name: "odd"), 2);
        FluentActions.Invoking(() => OpsetConverter.Convert(u.Build(), 21)).Should().Throw<OnnxFormatException>()
            .WithMessage("Node 'odd' (NoSuchOp) cannot be converted from opset 13 to 21: *");
    }

    [Fact]
    public void Every_adapter_sits_on_a_version_at_which_its_operator_was_redefined()
    {
        foreach (var ((op, version), _) in OpsetAdapters.Table)
        {
            bool removed = OnnxOperators.RemovedExperimental.Contains(op) && version == 10;
            bool redefined = OnnxOperators.Versions.TryGetValue(op, out var versions) && versions.Contains(version);
            (removed || redefined || version <= 7).Should().BeTrue($"{op} has an adapter to opset {version}");
        }
    }
}
