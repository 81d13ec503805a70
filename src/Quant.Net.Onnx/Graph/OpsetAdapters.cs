using Quant.Net.Onnx.Protobuf;
using static Quant.Net.Onnx.AdapterContext;

namespace Quant.Net.Onnx;

/// <summary>
/// The rewrites that move a node of the default domain across an opset version at which its operator changed signature
/// or meaning, as ONNX's version converter defines them: attributes that became inputs, changed defaults, renamed or
/// replaced operators. Each adapter turns a node valid at <c>version - 1</c> into nodes valid at <c>version</c> with the
/// same outputs. Version steps of an operator that have no adapter here kept every old model's meaning.
/// </summary>
internal static class OpsetAdapters
{
    /// <summary>Adapter for (operator, version it moves to).</summary>
    public static readonly IReadOnlyDictionary<(string Op, int Version), Action<AdapterContext, NodeProto>> Table = Build();

    private static Dictionary<(string, int), Action<AdapterContext, NodeProto>> Build()
    {
        var t = new Dictionary<(string, int), Action<AdapterContext, NodeProto>>
        {
            [("Reshape", 5)] = (c, n) => AttributeToInput(c, n, "shape", 1, "shape"),
            [("Concat", 4)] = (_, n) =>
            {
                if (Attribute(n, "axis") is null)
                {
                    Set(n, "axis", 1L);
                }
            },
            [("Gemm", 7)] = (_, n) => Take(n, "broadcast"),
            [("BatchNormalization", 7)] = (_, n) => Take(n, "is_test"),
            [("Dropout", 7)] = (_, n) => Take(n, "is_test"),
            [("Upsample", 7)] = Upsample7,
            [("BatchNormalization", 9)] = BatchNormSpatial,
            [("Upsample", 9)] = (c, n) => FloatsToInput(c, n, "scales", 1, "scales"),
            [("Scan", 9)] = (c, n) => throw c.Refuse(n, 9, "Scan 8 iterates over a batch axis that Scan 9 no longer has; re-export the loop at opset 9 or later"),
            [("Slice", 10)] = Slice10,
            [("TopK", 10)] = (c, n) => AttributeToInput(c, n, "k", 1, "k"),
            [("Upsample", 10)] = (c, n) => Rename(c, n, "Resize", 10),
            [("Clip", 11)] = Clip11,
            [("Pad", 11)] = Pad11,
            [("Resize", 11)] = Resize11,
            [("Scatter", 11)] = (c, n) => Rename(c, n, "ScatterElements", 11),
            [("Dropout", 12)] = Dropout12,
            [("ReduceSum", 13)] = AxesToInput,
            [("Squeeze", 13)] = AxesToInput,
            [("Unsqueeze", 13)] = AxesToInput,
            [("Split", 13)] = (c, n) => AttributeToInput(c, n, "split", 1, "split"),
            [("Softmax", 13)] = SingleAxis,
            [("LogSoftmax", 13)] = SingleAxis,
            [("Hardmax", 13)] = SingleAxis,
            [("BatchNormalization", 14)] = BatchNormOutputs,
            [("RoiAlign", 16)] = (_, n) =>
            {
                if (Attribute(n, "coordinate_transformation_mode") is null)
                {
                    Set(n, "coordinate_transformation_mode", "output_half_pixel");
                }
            },
            [("Split", 18)] = (_, n) =>
            {
                if (Attribute(n, "num_outputs") is null && (n.Input.Count < 2 || n.Input[1].Length == 0))
                {
                    Set(n, "num_outputs", n.Output.Count);
                }
            },
            [("DFT", 20)] = Dft20,
            [("GridSample", 20)] = (_, n) =>
            {
                string? mode = StringAttribute(n, "mode");
                if (mode is "bilinear" or "bicubic")
                {
                    Set(n, "mode", mode == "bilinear" ? "linear" : "cubic");
                }
            },
            [("GroupNormalization", 21)] = GroupNorm21,
            [("ImageScaler", 10)] = ImageScaler,
        };
        foreach (var op in new[] { "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare" })
        {
            t[(op, 18)] = AxesToInput;
        }

        foreach (var op in new[] { "Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less" })
        {
            t[(op, 7)] = Broadcast7;
        }

        return t;
    }

    /// <summary>Opset 6 removed <c>consumed_inputs</c> from every operator that had it (a hint with no effect on results).</summary>
    public static void RemoveConsumedInputs(NodeProto node) => Take(node, "consumed_inputs");

    private static void Rename(AdapterContext c, NodeProto n, string opType, int version)
    {
        c.Notes.Add($"{n.OpType} '{n.Name}' became {opType} (opset {version})");
        n.OpType = opType;
    }

    /// <summary>An ints attribute becomes an int64 input at <paramref name="index"/> (later optional inputs keep their place).</summary>
    private static void AttributeToInput(AdapterContext c, NodeProto n, string name, int index, string hint)
    {
        if (Take(n, name) is not { } a)
        {
            return;
        }

        long[] values = a.Type == AttributeProto.Types.AttributeType.Int ? [a.I] : [.. a.Ints];
        SetInput(n, index, c.AddInt64s(n, hint, values));
    }

    private static void FloatsToInput(AdapterContext c, NodeProto n, string name, int index, string hint)
    {
        if (Take(n, name) is { } a)
        {
            SetInput(n, index, c.AddInitializer($"{n.Name}_{hint}", TensorData.Create<float>("", a.Floats.ToArray(), [a.Floats.Count])));
        }
    }

    private static void SetInput(NodeProto n, int index, string tensor)
    {
        while (n.Input.Count <= index)
        {
            n.Input.Add("");
        }

        n.Input[index] = tensor;
    }

    /// <summary>
    /// Axes become an input; for reductions they are also made non-negative and sorted where the rank is known, because
    /// ONNX Runtime picks its summation order from the axes as written, and the old node's result is kept to the bit only
    /// with the order its kernel used for the attribute.
    /// </summary>
    private static void AxesToInput(AdapterContext c, NodeProto n)
    {
        if (Attribute(n, "axes") is { } a && c.Rank(n.Input[0]) is int r && n.OpType.StartsWith("Reduce", StringComparison.Ordinal))
        {
            var sorted = a.Ints.Select(v => v < 0 ? v + r : v).Order().ToArray();
            a.Ints.Clear();
            a.Ints.Add(sorted);
        }

        AttributeToInput(c, n, "axes", 1, "axes");
    }

    /// <summary>Opset 6 and older: <c>broadcast=1</c> with an <c>axis</c> aligned B's dimensions at that axis of A.</summary>
    private static void Broadcast7(AdapterContext c, NodeProto n)
    {
        bool broadcast = Take(n, "broadcast") is { I: not 0 };
        var axis = Take(n, "axis");
        if (!broadcast || axis is null || n.Input.Count < 2)
        {
            return; // equal shapes, or numpy-style trailing alignment: the same under opset 7's broadcasting
        }

        int? rankA = c.Rank(n.Input[0]);
        int? rankB = c.Rank(n.Input[1]);
        if (rankA is not int ra || rankB is not int rb)
        {
            throw c.Refuse(n, 7, "it broadcasts along an axis and the ranks of its inputs are not declared");
        }

        long start = axis.I < 0 ? axis.I + ra : axis.I;
        int trailing = ra - (int)start - rb;
        if (trailing <= 0)
        {
            return;
        }

        // Give B trailing ones so that numpy alignment puts its dimensions at `axis`.
        var unsqueezeAxes = Enumerable.Range(rb, trailing).Select(i => (long)i).ToArray();
        var unsqueeze = c.InsertBefore(n, "Unsqueeze", [n.Input[1]], $"{n.Name}_b_aligned");
        unsqueeze.Attribute.Add(new AttributeProto { Name = "axes", Type = AttributeProto.Types.AttributeType.Ints, Ints = { unsqueezeAxes } });
        n.Input[1] = unsqueeze.Output[0];
        c.Invalidate();
    }

    private static void Upsample7(AdapterContext c, NodeProto n)
    {
        var h = Take(n, "height_scale");
        var w = Take(n, "width_scale");
        if (h is not null || w is not null)
        {
            n.Attribute.Add(new AttributeProto
            {
                Name = "scales",
                Type = AttributeProto.Types.AttributeType.Floats,
                Floats = { 1f, 1f, h?.F ?? 1f, w?.F ?? 1f },
            });
        }
    }

    private static void BatchNormSpatial(AdapterContext c, NodeProto n)
    {
        if (Take(n, "spatial") is { I: 0 })
        {
            throw c.Refuse(n, 9, "spatial = 0 (statistics per element rather than per channel) does not exist in opset 9");
        }
    }

    private static void Slice10(AdapterContext c, NodeProto n)
    {
        if (Attribute(n, "starts") is null || Attribute(n, "ends") is null)
        {
            throw c.Refuse(n, 10, "it has no starts or ends attribute");
        }

        AttributeToInput(c, n, "starts", 1, "starts");
        AttributeToInput(c, n, "ends", 2, "ends");
        AttributeToInput(c, n, "axes", 3, "axes");
    }

    private static void Clip11(AdapterContext c, NodeProto n)
    {
        var min = Take(n, "min");
        var max = Take(n, "max");
        if (min is not null)
        {
            SetInput(n, 1, c.AddScalarLike(n, "min", n.Input[0], min.F));
        }

        if (max is not null)
        {
            SetInput(n, 2, c.AddScalarLike(n, "max", n.Input[0], max.F));
        }
    }

    private static void Pad11(AdapterContext c, NodeProto n)
    {
        var pads = Take(n, "pads") ?? Take(n, "paddings");
        var value = Take(n, "value");
        if (pads is null)
        {
            throw c.Refuse(n, 11, "it has no pads attribute");
        }

        SetInput(n, 1, c.AddInt64s(n, "pads", [.. pads.Ints]));
        if ((StringAttribute(n, "mode") ?? "constant") == "constant" && value is { F: not 0f })
        {
            SetInput(n, 2, c.AddScalarLike(n, "value", n.Input[0], value.F));
        }
    }

    /// <summary>
    /// Resize 10 mapped output to input coordinates as <c>x / scale</c> and, for nearest, truncated when upsampling and
    /// rounded up when downsampling (ONNX Runtime's reading of it): opset 11 says so with <c>asymmetric</c> and a
    /// <c>nearest_mode</c> of floor or ceil, and takes an roi input before the scales.
    /// </summary>
    private static void Resize11(AdapterContext c, NodeProto n)
    {
        if (n.Input.Count < 2)
        {
            throw c.Refuse(n, 11, "it has no scales input");
        }

        string mode = StringAttribute(n, "mode") ?? "nearest";
        if (mode == "nearest")
        {
            var scales = c.Constant(n.Input[1]);
            if (scales is null)
            {
                throw c.Refuse(n, 11, "nearest rounding depended on whether each scale is below 1, and its scales are computed at run time");
            }

            var values = TensorData.ToFloats(scales);
            bool up = values.All(s => s >= 1f);
            bool down = values.All(s => s <= 1f);
            if (!up && !down)
            {
                throw c.Refuse(n, 11, "it enlarges some axes and shrinks others, which opset 10 rounded in two different ways");
            }

            Set(n, "nearest_mode", up ? "floor" : "ceil");
        }

        Set(n, "coordinate_transformation_mode", "asymmetric");
        string roi = c.AddInitializer($"{n.Name}_roi", TensorData.Create<float>("", [], [0]));
        n.Input.Insert(1, roi);
    }

    private static void Dropout12(AdapterContext c, NodeProto n)
    {
        var ratio = Take(n, "ratio");
        SetInput(n, 1, c.AddInitializer($"{n.Name}_ratio", TensorData.Scalar("", ratio?.F ?? 0.5f)));
    }

    /// <summary>
    /// Softmax-family ops before 13 worked on the input coerced to 2-D at <c>axis</c>; from 13 on the one axis. Same
    /// thing when the axis is the last one; otherwise Flatten at the axis, the op on the last axis, and Reshape back.
    /// </summary>
    private static void SingleAxis(AdapterContext c, NodeProto n)
    {
        long axis = Take(n, "axis")?.I ?? 1;
        int? rank = c.Rank(n.Input[0]);
        if (rank is int r && (axis == r - 1 || axis == -1))
        {
            Set(n, "axis", -1L);
            return;
        }

        if (rank is int r2 && axis < 0)
        {
            axis += r2;
        }

        var shape = c.InsertBefore(n, "Shape", [n.Input[0]], $"{n.Name}_input_shape");
        var flatten = c.InsertBefore(n, "Flatten", [n.Input[0]], $"{n.Name}_2d");
        Set(flatten, "axis", axis);
        n.Input[0] = flatten.Output[0];
        Set(n, "axis", -1L);
        string output = n.Output[0];
        c.RenameOutput(n, 0, $"{n.Name}_2d_out");
        var reshape = c.InsertAfter(n, "Reshape", [n.Output[0], shape.Output[0]], $"{n.Name}_reshape");
        reshape.Output[0] = output;
        c.Notes.Add($"{n.OpType} '{n.Name}' on axis {axis} of its input coerced to 2-D: now Flatten → {n.OpType} → Reshape (opset 13)");
        c.Invalidate();
    }

    private static void BatchNormOutputs(AdapterContext c, NodeProto n)
    {
        for (int i = n.Output.Count - 1; i >= 1; i--)
        {
            if (c.IsUsed(n.Output[i]))
            {
                throw c.Refuse(n, 14, $"its training-mode output '{n.Output[i]}' is read, and opset 14 dropped it");
            }

            n.Output.RemoveAt(i);
        }
    }

    private static void Dft20(AdapterContext c, NodeProto n)
    {
        long axis = Take(n, "axis")?.I ?? 1;
        SetInput(n, 2, c.AddInitializer($"{n.Name}_axis", TensorData.Scalar("", axis)));
    }

    /// <summary>Opset 21 takes GroupNormalization's scale and bias per channel instead of per group: each group's value repeats.</summary>
    private static void GroupNorm21(AdapterContext c, NodeProto n)
    {
        if (n.Input.Count < 3)
        {
            throw c.Refuse(n, 21, "it lacks scale or bias");
        }

        long groups = Attribute(n, "num_groups")?.I ?? throw c.Refuse(n, 21, "it has no num_groups attribute");
        var channels = c.InsertBefore(n, "Shape", [n.Input[0]], $"{n.Name}_channels");
        Set(channels, "start", 1L);
        Set(channels, "end", 2L);
        var perGroup = c.InsertBefore(n, "Div", [channels.Output[0], c.AddInt64s(n, "groups", [groups])], $"{n.Name}_per_group");
        var expandShape = c.InsertBefore(n, "Concat", [c.AddInt64s(n, "one", [1]), perGroup.Output[0]], $"{n.Name}_expand_shape");
        Set(expandShape, "axis", 0L);
        string column = c.AddInt64s(n, "column", [-1, 1]);
        string flat = c.AddInt64s(n, "flat", [-1]);
        for (int input = 1; input <= 2; input++)
        {
            var asColumn = c.InsertBefore(n, "Reshape", [n.Input[input], column], $"{n.Input[input]}_groups");
            var expand = c.InsertBefore(n, "Expand", [asColumn.Output[0], expandShape.Output[0]], $"{n.Input[input]}_expanded");
            var perChannel = c.InsertBefore(n, "Reshape", [expand.Output[0], flat], $"{n.Input[input]}_per_channel");
            n.Input[input] = perChannel.Output[0];
        }

        c.Invalidate();
    }

    /// <summary>The experimental ImageScaler (removed in opset 10): <c>scale · x + bias[c]</c>, as Mul and Add.</summary>
    private static void ImageScaler(AdapterContext c, NodeProto n)
    {
        float scale = Take(n, "scale")?.F ?? 1f;
        var bias = Take(n, "bias")?.Floats.ToArray() ?? [];
        string type = c.Types.TryGetValue(n.Input[0], out var t) ? t.ToString() : "Float";
        if (type != "Float")
        {
            throw c.Refuse(n, 10, $"ImageScaler on {type} data is not rewritten");
        }

        string output = n.Output[0];
        var mul = c.InsertBefore(n, "Mul", [n.Input[0], c.AddInitializer($"{n.Name}_scale", TensorData.Scalar("", scale))], $"{n.Name}_scaled");
        var add = c.InsertBefore(n, "Add", [mul.Output[0], c.AddInitializer($"{n.Name}_bias", TensorData.Create<float>("", bias, [1, bias.Length, 1, 1]))], $"{n.Name}_biased");
        add.Output[0] = output;
        c.Graph.Node.Remove(n);
        c.Notes.Add($"ImageScaler '{n.Name}' became Mul and Add (opset 10)");
        c.Invalidate();
    }
}
