using Quant.Net.Techniques;
using Quant.Net.Onnx.Protobuf;
using DataType = Quant.Net.Onnx.Protobuf.TensorProto.Types.DataType;

namespace Quant.Net.Onnx;

/// <summary>
/// Simulates ONNX Runtime's u8s8 kernels on x86 AVX2 / AVX-512 without VNNI on any host: the model is rewritten so that
/// every int8 Conv/MatMul/Gemm that ONNX Runtime would fuse computes, with exact standard ops, the sum over pairs of
/// <c>saturate_int16(a[2i]·b[2i] + a[2i+1]·b[2i+1])</c> on raw codes (zero points corrected afterwards through column sums,
/// as MLAS does), with the pairs taken in MLAS's order: along K for MatMul/Gemm, along (kernel row, kernel column, input
/// channel) within a group for Conv (its NHWC im2col order, padded with the activation zero point). Depthwise
/// convolutions (exact in ONNX Runtime), uint8 weights (its exact u8u8 kernels) and anything else are left as they are.
/// Products and pair sums are small integers, exact in float; the pair sums are added in int32.
/// </summary>
/// <remarks>
/// What is modelled: uint8 activations, and int8 activations as ONNX Runtime's x86 graph transformer shifts them to uint8
/// (codes and zero point + 128); int8 weights with zero point 0, per tensor or per output channel. The requantization
/// (int32 → float scale) is done in float, so an output code can differ by one from the fused kernel's at rounding ties.
/// </remarks>
internal static class SaturatingPairSimulation
{
    /// <summary>A copy of <paramref name="model"/> whose int8 GEMM-like nodes compute with saturating pair sums.</summary>
    public static OnnxModel Rewrite(OnnxModel model)
    {
        var copy = model.Clone();
        var graph = copy.Graph;
        var index = new GraphIndex(graph);
        var names = new NameSet(graph);
        foreach (var node in graph.Node.ToList())
        {
            var rewritten = node.OpType switch
            {
                "Conv" or "MatMul" or "Gemm" when node.Domain is "" or "ai.onnx" => RewriteQdq(node, index, names, graph),
                "MatMulInteger" when node.Domain is "" or "ai.onnx" => RewriteMatMulInteger(node, index, names, graph),
                _ => null,
            };
            if (rewritten is null)
            {
                continue;
            }

            int position = graph.Node.IndexOf(node);
            graph.Node.RemoveAt(position);
            for (int i = 0; i < rewritten.Count; i++)
            {
                graph.Node.Insert(position + i, rewritten[i]);
            }
        }

        if (copy.Proto.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx") is { Version: < 13 } opset)
        {
            opset.Version = 13;   // ReduceSum with axes as an input; the rewrite only runs on QDQ models (opset >= 13)
        }

        return copy;
    }

    /// <summary>Names of int8 weight tensors (DequantizeLinear inputs feeding Conv/MatMul/Gemm) whose code pairs can leave int16 with uint8 activations.</summary>
    public static IReadOnlyList<string> SaturableWeights(OnnxModel model)
    {
        var index = new GraphIndex(model.Graph);
        var result = new List<string>();
        foreach (var node in model.Graph.Node.Where(n => n.OpType is "Conv" or "MatMul" or "Gemm" or "MatMulInteger" && n.Input.Count > 1))
        {
            var weight = node.OpType == "MatMulInteger" ? WeightFromInitializer(node.Input[1], node.Input.Count > 3 ? node.Input[3] : null, index)
                : index.Producer(node.Input[1]) is { OpType: "DequantizeLinear" } dq ? WeightFromDequantize(dq, index) : null;
            if (weight is null || IsDepthwise(node, weight))
            {
                continue;
            }

            // Pairs never cross output channels, so the bound is per output channel whatever the scale granularity.
            int channelAxis = OpCatalog.Weight(node)?.ChannelAxis ?? -1;   // MatMulInteger: [K, N] like MatMul
            int axis = channelAxis < 0 ? weight.Codes.Rank + channelAxis : channelAxis;
            var worst = PairwiseInt16Safety.WorstPairCodes(weight.Codes.Values, weight.Codes.Shape, QuantGranularity.PerChannel(axis), new int[weight.Codes.Shape[axis]]);
            if (worst.Any(w => w.Positive * 255 > short.MaxValue || w.Negative * 255 > -short.MinValue))
            {
                result.Add(weight.Name);
            }
        }

        return result;
    }

    private sealed record IntTensor(int[] Values, int[] Shape)
    {
        public int Rank => Shape.Length;
    }

    private sealed record Weight(string Name, IntTensor Codes, float[] Scales);

    /// <summary>An int8 weight with zero point 0 behind a DequantizeLinear, or null.</summary>
    private static Weight? WeightFromDequantize(NodeProto dq, GraphIndex index) =>
        index.Initializers.TryGetValue(dq.Input[1], out var scale)
            ? WeightFromInitializer(dq.Input[0], dq.Input.Count > 2 ? dq.Input[2] : null, index, TensorData.ToFloats(scale))
            : null;

    /// <summary>An int8 initializer whose zero point (if any) is a constant 0, or null.</summary>
    private static Weight? WeightFromInitializer(string name, string? zeroPoint, GraphIndex index, float[]? scales = null)
    {
        if (!index.Initializers.TryGetValue(name, out var codes) || codes.DataType != (int)DataType.Int8)
        {
            return null;
        }

        if (zeroPoint is { Length: > 0 } && (!index.Initializers.TryGetValue(zeroPoint, out var zp) || TensorData.ToInt64(zp).Any(z => z != 0)))
        {
            return null;
        }

        return new Weight(name, new IntTensor([.. TensorData.ToInt64(codes).Select(v => (int)v)], TensorData.Shape(codes)), scales ?? [1f]);
    }

    private static bool IsDepthwise(NodeProto node, Weight weight) => weight.Codes.Rank >= 2 && OpCatalog.IsDepthwiseConv(node, weight.Codes.Shape[1]);

    /// <summary>The activation side: raw uint8-domain codes as float and the zero point (both shifted by 128 for int8).</summary>
    private sealed record Activation(string Codes, string ZeroPoint, float Scale);

    private static List<NodeProto>? RewriteQdq(NodeProto node, GraphIndex index, NameSet names, GraphProto graph)
    {
        if (node.Input.Count < 2 || index.Producer(node.Input[0]) is not { OpType: "DequantizeLinear" } dqx
            || index.Producer(node.Input[1]) is not { OpType: "DequantizeLinear" } dqw || WeightFromDequantize(dqw, index) is not { } weight
            || !index.Initializers.TryGetValue(dqx.Input[1], out var xScale) || TensorData.ElementCount(xScale) != 1
            || dqx.Input.Count < 3 || !index.Initializers.TryGetValue(dqx.Input[2], out var xZero)
            || xZero.DataType is not ((int)DataType.Uint8 or (int)DataType.Int8))
        {
            return null;
        }

        // ONNX Runtime fuses a Conv only when its output (directly or through Relu/Clip) is quantized; MatMul and Gemm always.
        if (node.OpType == "Conv" && !FeedsQuantize(node.Output[0], index))
        {
            return null;
        }

        string? bias = null;
        if (node.Input.Count > 2 && node.Input[2].Length > 0)
        {
            if (index.Producer(node.Input[2]) is not { OpType: "DequantizeLinear" } dqb || !index.Initializers.TryGetValue(dqb.Input[0], out var b)
                || b.DataType != (int)DataType.Int32)
            {
                return null;   // a float bias: ONNX Runtime leaves the node unfused
            }

            bias = dqb.Input[0];
        }

        var nodes = new List<NodeProto>();
        var x = ActivationCodes(dqx.Input[0], dqx.Input[2], xZero.DataType == (int)DataType.Int8, TensorData.ToFloats(xScale)[0], names, nodes);
        string y = node.Output[0];
        switch (node.OpType)
        {
            case "Conv":
                if (IsDepthwise(node, weight) || weight.Codes.Rank != 4)
                {
                    return null;
                }

                Conv(node, x, weight, bias, y, names, graph, nodes);
                break;
            case "MatMul":
                if (weight.Codes.Rank != 2)
                {
                    return null;
                }

                MatMul(x, weight, null, y, 1f, names, graph, nodes);
                break;
            default:
                if (OpCatalog.Attribute(node, "transA", 0L) != 0 || weight.Codes.Rank != 2)
                {
                    return null;
                }

                var w = OpCatalog.Attribute(node, "transB", 0L) != 0 ? Transposed(weight) : weight;
                MatMul(x, w, bias, y, OpCatalog.Attribute(node, "alpha", 1f), names, graph, nodes);
                break;
        }

        return nodes;
    }

    private static List<NodeProto>? RewriteMatMulInteger(NodeProto node, GraphIndex index, NameSet names, GraphProto graph)
    {
        var type = index.Producer(node.Input[0]) switch
        {
            { OpType: "DynamicQuantizeLinear" } => DataType.Uint8,
            { OpType: "QuantizeLinear" } q when q.Input.Count > 2 && index.Initializers.TryGetValue(q.Input[2], out var zp) => (DataType)zp.DataType,
            _ => index.Types.GetValueOrDefault(node.Input[0]),
        };
        if (WeightFromInitializer(node.Input[1], node.Input.Count > 3 ? node.Input[3] : null, index) is not { } weight || weight.Codes.Rank != 2
            || type is not (DataType.Uint8 or DataType.Int8))
        {
            return null;
        }

        var nodes = new List<NodeProto>();
        string zero = node.Input.Count > 2 && node.Input[2].Length > 0 ? node.Input[2] : Constant(names.Make(node.Name + "_zero"), type, graph);
        var x = ActivationCodes(node.Input[0], zero, type == DataType.Int8, 1f, names, nodes);
        string acc = names.Make(node.Output[0] + "_pairs");
        MatMulAccumulate(x, weight, null, acc, names, graph, nodes);
        nodes.Add(Op("Identity", names, [acc], [node.Output[0]]));
        return nodes;
    }

    private static bool FeedsQuantize(string tensor, GraphIndex index)
    {
        foreach (var consumer in index.Consumers(tensor))
        {
            if (consumer.OpType == "QuantizeLinear" || (consumer.OpType is "Relu" or "Clip" && index.Consumers(consumer.Output[0]).Any(c => c.OpType == "QuantizeLinear")))
            {
                return true;
            }
        }

        return false;
    }

    private static Activation ActivationCodes(string codes, string zeroPoint, bool signed, float scale, NameSet names, List<NodeProto> nodes)
    {
        string Float(string t)
        {
            string f = names.Make(t + "_as_float");
            var cast = Op("Cast", names, [t], [f]);
            cast.Attribute.Add(IntAttribute("to", (long)DataType.Float));
            nodes.Add(cast);
            if (!signed)
            {
                return f;
            }

            string shifted = names.Make(t + "_as_uint8");
            nodes.Add(Op("Add", names, [f, ScalarInput(names, nodes, 128f)], [shifted]));
            return shifted;
        }

        return new Activation(Float(codes), Float(zeroPoint), scale);
    }

    /// <summary>y = (Σ saturating pairs − zp·colsum(w) + bias) · s_x · s_w · alpha, in float, for A[..., K] · W[K, N].</summary>
    private static void MatMul(Activation x, Weight w, string? bias, string y, float alpha, NameSet names, GraphProto graph, List<NodeProto> nodes)
    {
        string acc = names.Make(y + "_int32");
        MatMulAccumulate(x, w, bias, acc, names, graph, nodes);
        int n = w.Codes.Shape[1];
        Rescale(acc, y, x.Scale, w.Scales, n, alpha, [n], names, graph, nodes);
    }

    /// <summary>The int32 accumulator of A[..., K] · W[K, N] with saturating pairs, zero-point correction and bias codes.</summary>
    private static void MatMulAccumulate(Activation x, Weight w, string? bias, string acc, NameSet names, GraphProto graph, List<NodeProto> nodes)
    {
        int k = w.Codes.Shape[0], n = w.Codes.Shape[1];
        string prefix = acc;
        // Rows: A as [R, K] (R = product of the leading dimensions), the result reshaped back to [..., N] at the end.
        string shape = names.Make(prefix + "_input_shape");
        nodes.Add(Op("Shape", names, [x.Codes], [shape]));
        string leading = names.Make(prefix + "_leading");
        nodes.Add(Op("Slice", names, [shape, Ints(names, graph, prefix + "_s0", [0]), Ints(names, graph, prefix + "_e1", [-1])], [leading]));
        string outShape = names.Make(prefix + "_output_shape");
        var concat = Op("Concat", names, [leading, Ints(names, graph, prefix + "_n", [n])], [outShape]);
        concat.Attribute.Add(IntAttribute("axis", 0));
        nodes.Add(concat);
        string rows = names.Make(prefix + "_rows");
        nodes.Add(Op("Reshape", names, [x.Codes, Ints(names, graph, prefix + "_rk", [-1, k])], [rows]));

        // B[k, n] as pairs (even, odd) along k; an odd last k is a lone product that cannot saturate.
        int pairs = k / 2;
        var wk = new float[k * n];
        for (int i = 0; i < wk.Length; i++)
        {
            wk[i] = w.Codes.Values[i];
        }

        string sum = PairSums(rows, pairs, k, wk, n, [pairs, n], prefix, names, graph, nodes, lhsShape: [-1, pairs, 2], reduceAxis: 1);
        string flat = Corrected(sum, x, ColumnSums(w.Codes.Values, k, n), [n], bias, null, prefix, names, graph, nodes);
        nodes.Add(Op("Reshape", names, [flat, outShape], [acc]));
    }

    /// <summary>
    /// Σ over pairs of clip(a_even·b_even + a_odd·b_odd) as int32 plus the lone last product for odd K. <paramref name="rows"/>
    /// is reshaped to <paramref name="lhsShape"/> (…, pairs, 2) and multiplied with the weights broadcast as
    /// <paramref name="weightShape"/>; the sum runs over <paramref name="reduceAxis"/>.
    /// </summary>
    private static string PairSums(string rows, int pairs, int k, float[] weightsKn, int n, int[] weightShape, string prefix, NameSet names, GraphProto graph,
        List<NodeProto> nodes, int[] lhsShape, int reduceAxis)
    {
        string paired = rows;
        string? lone = null;
        if (k % 2 == 1)
        {
            paired = names.Make(prefix + "_paired_part");
            nodes.Add(Op("Slice", names, [rows, Ints(names, graph, prefix + "_p0", [0]), Ints(names, graph, prefix + "_p1", [k - 1]), Ints(names, graph, prefix + "_pax", [-1])], [paired]));
            string last = names.Make(prefix + "_last");
            nodes.Add(Op("Slice", names, [rows, Ints(names, graph, prefix + "_l0", [k - 1]), Ints(names, graph, prefix + "_l1", [k]), Ints(names, graph, prefix + "_lax", [-1])], [last]));
            string lastProduct = names.Make(prefix + "_last_product");
            nodes.Add(Op("MatMul", names, [last, Floats(names, graph, prefix + "_w_last", weightsKn.AsSpan((k - 1) * n, n), [1, n])], [lastProduct]));
            lone = Cast(lastProduct, DataType.Int32, names, nodes);
        }

        string sum;
        if (pairs == 0)
        {
            sum = lone!;
        }
        else
        {
            string split = names.Make(prefix + "_pairs");
            nodes.Add(Op("Reshape", names, [paired, Ints(names, graph, prefix + "_pshape", lhsShape)], [split]));
            string Half(int parity)
            {
                string half = names.Make(prefix + (parity == 0 ? "_even" : "_odd"));
                nodes.Add(Op("Slice", names, [split, Ints(names, graph, prefix + "_h0", [parity]), Ints(names, graph, prefix + "_h1", [parity + 1]), Ints(names, graph, prefix + "_hax", [-1])], [half]));
                var weights = new float[pairs * n];
                for (int j = 0; j < pairs; j++)
                {
                    weightsKn.AsSpan((2 * j + parity) * n, n).CopyTo(weights.AsSpan(j * n, n));
                }

                string product = names.Make(half + "_product");
                nodes.Add(Op("Mul", names, [half, Floats(names, graph, half + "_weights", weights, weightShape)], [product]));
                return product;
            }

            string pairSum = names.Make(prefix + "_pair_sum");
            nodes.Add(Op("Add", names, [Half(0), Half(1)], [pairSum]));
            string clipped = names.Make(prefix + "_saturated");
            nodes.Add(Op("Clip", names, [pairSum, ScalarInput(names, nodes, short.MinValue), ScalarInput(names, nodes, short.MaxValue)], [clipped]));
            sum = names.Make(prefix + "_sum");
            var reduce = Op("ReduceSum", names, [Cast(clipped, DataType.Int32, names, nodes), Ints(names, graph, prefix + "_axis", [reduceAxis])], [sum]);
            reduce.Attribute.Add(IntAttribute("keepdims", 0));
            nodes.Add(reduce);
            if (lone is not null)
            {
                string both = names.Make(prefix + "_with_last");
                nodes.Add(Op("Add", names, [sum, lone], [both]));
                sum = both;
            }
        }

        return sum;
    }

    /// <summary>sum − zp·colsum (+ bias codes), all int32; shapes broadcast as given.</summary>
    private static string Corrected(string sum, Activation x, int[] columnSums, int[] sumShape, string? bias, int[]? biasShape, string prefix, NameSet names,
        GraphProto graph, List<NodeProto> nodes)
    {
        string zp = Cast(x.ZeroPoint, DataType.Int32, names, nodes);
        string correction = names.Make(prefix + "_zero_point_term");
        var colsum = TensorData.Create<int>(names.Make(prefix + "_column_sums"), columnSums, sumShape);
        graph.Initializer.Add(colsum);
        nodes.Add(Op("Mul", names, [zp, colsum.Name], [correction]));
        string result = names.Make(prefix + "_corrected");
        nodes.Add(Op("Sub", names, [sum, correction], [result]));
        if (bias is null)
        {
            return result;
        }

        string biased = names.Make(prefix + "_biased");
        string b = bias;
        if (biasShape is not null)
        {
            b = names.Make(prefix + "_bias_codes");
            nodes.Add(Op("Reshape", names, [bias, Ints(names, graph, prefix + "_bias_shape", biasShape)], [b]));
        }

        nodes.Add(Op("Add", names, [result, b], [biased]));
        return biased;
    }

    private static void Rescale(string acc, string y, float xScale, float[] wScales, int channels, float alpha, int[] scaleShape, NameSet names, GraphProto graph,
        List<NodeProto> nodes)
    {
        var scales = new float[wScales.Length == 1 ? 1 : channels];
        for (int c = 0; c < scales.Length; c++)
        {
            scales[c] = xScale * wScales[wScales.Length == 1 ? 0 : c] * alpha;
        }

        nodes.Add(Op("Mul", names, [Cast(acc, DataType.Float, names, nodes), Floats(names, graph, y + "_output_scale", scales, scales.Length == 1 ? [] : scaleShape)], [y]));
    }

    /// <summary>Conv as im2col (one-hot Conv on centred codes, so padding is the zero point) and grouped pair sums.</summary>
    private static void Conv(NodeProto node, Activation x, Weight w, string? bias, string y, NameSet names, GraphProto graph, List<NodeProto> nodes)
    {
        int outChannels = w.Codes.Shape[0], icg = w.Codes.Shape[1], kh = w.Codes.Shape[2], kw = w.Codes.Shape[3];
        int groups = (int)OpCatalog.Attribute(node, "group", 1L), ocg = outChannels / groups, k = kh * kw * icg, pairs = k / 2;
        string prefix = y;

        // Patches: channel g·K + (tap·ICg + ic) of the one-hot Conv is input channel ic of group g at kernel tap (r, s).
        var oneHot = new float[groups * k * icg * kh * kw];
        for (int g = 0; g < groups; g++)
        {
            for (int tap = 0; tap < kh * kw; tap++)
            {
                for (int ic = 0; ic < icg; ic++)
                {
                    int o = g * k + tap * icg + ic;
                    oneHot[((o * icg) + ic) * kh * kw + tap] = 1f;
                }
            }
        }

        string centred = names.Make(prefix + "_centred");
        nodes.Add(Op("Sub", names, [x.Codes, x.ZeroPoint], [centred]));
        string patches = names.Make(prefix + "_patches");
        var im2col = Op("Conv", names, [centred, Floats(names, graph, prefix + "_one_hot", oneHot, [groups * k, icg, kh, kw])], [patches]);
        foreach (var a in node.Attribute.Where(a => a.Name is "strides" or "pads" or "dilations" or "auto_pad" or "group" or "kernel_shape"))
        {
            im2col.Attribute.Add(a.Clone());
        }

        nodes.Add(im2col);
        string raw = names.Make(prefix + "_raw_patches");
        nodes.Add(Op("Add", names, [patches, x.ZeroPoint], [raw]));

        // [N, G·K, OH, OW] → [N, G, K, S] → [N, G, S, K]: rows of K per output position.
        string patchShape = names.Make(prefix + "_patch_shape");
        nodes.Add(Op("Shape", names, [raw], [patchShape]));
        string grouped = names.Make(prefix + "_grouped");
        nodes.Add(Op("Reshape", names, [raw, Ints(names, graph, prefix + "_gks", [0, groups, k, -1])], [grouped]));
        string rows = names.Make(prefix + "_rows");
        var transpose = Op("Transpose", names, [grouped], [rows]);
        transpose.Attribute.Add(new AttributeProto { Name = "perm", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0, 1, 3, 2 } });
        nodes.Add(transpose);

        // Weights per group as [K, OCg] in (tap, ic) order, broadcast as [G, 1, pairs, OCg] against rows [N, G, S, pairs, 1].
        var wk = new float[groups * k * ocg];
        var columnSums = new int[outChannels];
        for (int o = 0; o < outChannels; o++)
        {
            int g = o / ocg, oc = o % ocg;
            for (int ic = 0; ic < icg; ic++)
            {
                for (int tap = 0; tap < kh * kw; tap++)
                {
                    int code = w.Codes.Values[(o * icg + ic) * kh * kw + tap];
                    wk[(g * k + tap * icg + ic) * ocg + oc] = code;
                    columnSums[o] += code;
                }
            }
        }

        var sums = new List<string>();
        string sum;
        if (groups == 1)
        {
            sum = PairSums(rows, pairs, k, wk, ocg, [pairs, ocg], prefix, names, graph, nodes, lhsShape: [0, 1, 0, pairs, 2], reduceAxis: 3);
        }
        else
        {
            // One group at a time keeps the broadcasts two-dimensional in the weights.
            for (int g = 0; g < groups; g++)
            {
                string slice = names.Make($"{prefix}_group{g}");
                nodes.Add(Op("Slice", names, [rows, Ints(names, graph, prefix + "_g0", [g]), Ints(names, graph, prefix + "_g1", [g + 1]), Ints(names, graph, prefix + "_gax", [1])], [slice]));
                sums.Add(PairSums(slice, pairs, k, wk[(g * k * ocg)..((g + 1) * k * ocg)], ocg, [pairs, ocg], $"{prefix}_g{g}", names, graph, nodes,
                    lhsShape: [0, 1, 0, pairs, 2], reduceAxis: 3));
            }

            sum = names.Make(prefix + "_groups");
            var concat = Op("Concat", names, [.. sums], [sum]);
            concat.Attribute.Add(IntAttribute("axis", 1));
            nodes.Add(concat);
        }

        // sum: [N, G, S, OCg]. Correct, then → [N, G, OCg, S] → [N, O, OH, OW].
        string acc = Corrected(sum, x, columnSums, [groups, 1, ocg], bias, [groups, 1, ocg], prefix, names, graph, nodes);
        string channelsFirst = names.Make(prefix + "_channels_first");
        var back = Op("Transpose", names, [acc], [channelsFirst]);
        back.Attribute.Add(new AttributeProto { Name = "perm", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0, 1, 3, 2 } });
        nodes.Add(back);
        string spatial = names.Make(prefix + "_spatial");
        nodes.Add(Op("Slice", names, [patchShape, Ints(names, graph, prefix + "_sp0", [2]), Ints(names, graph, prefix + "_sp1", [4])], [spatial]));
        string outShape = names.Make(prefix + "_output_shape");
        var concatShape = Op("Concat", names, [Ints(names, graph, prefix + "_no", [0, outChannels]), spatial], [outShape]);
        concatShape.Attribute.Add(IntAttribute("axis", 0));
        nodes.Add(concatShape);
        string result = names.Make(prefix + "_accumulator");
        nodes.Add(Op("Reshape", names, [channelsFirst, outShape], [result]));
        Rescale(result, y, x.Scale, w.Scales, outChannels, 1f, [outChannels, 1, 1], names, graph, nodes);
    }

    private static Weight Transposed(Weight w)
    {
        int rows = w.Codes.Shape[0], columns = w.Codes.Shape[1];
        return w with { Codes = new IntTensor(TensorData.Transpose(w.Codes.Values, rows, columns), [columns, rows]) };
    }

    private static int[] ColumnSums(int[] kn, int k, int n)
    {
        var sums = new int[n];
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j < n; j++)
            {
                sums[j] += kn[i * n + j];
            }
        }

        return sums;
    }

    private static string Cast(string t, DataType to, NameSet names, List<NodeProto> nodes)
    {
        string c = names.Make(t + (to == DataType.Int32 ? "_int32" : "_float"));
        var cast = Op("Cast", names, [t], [c]);
        cast.Attribute.Add(IntAttribute("to", (long)to));
        nodes.Add(cast);
        return c;
    }

    private static string Ints(NameSet names, GraphProto graph, string name, long[] values)
    {
        var t = TensorData.Create<long>(names.Make(name), values, [values.Length]);
        graph.Initializer.Add(t);
        return t.Name;
    }

    private static string Ints(NameSet names, GraphProto graph, string name, int[] values) => Ints(names, graph, name, values.Select(v => (long)v).ToArray());

    private static string Floats(NameSet names, GraphProto graph, string name, ReadOnlySpan<float> values, int[] shape)
    {
        var t = TensorData.Create<float>(names.Make(name), values, shape);
        graph.Initializer.Add(t);
        return t.Name;
    }

    private static string ScalarInput(NameSet names, List<NodeProto> nodes, float value)
    {
        string name = names.Make("pair_simulation_constant");
        var constant = Op("Constant", names, [], [name]);
        constant.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = TensorData.Scalar(name + "_value", value) });
        nodes.Add(constant);
        return name;
    }

    private static string Constant(string name, DataType type, GraphProto graph)
    {
        var t = type == DataType.Int8 ? TensorData.Scalar<sbyte>(name, 0) : TensorData.Scalar<byte>(name, 0);
        graph.Initializer.Add(t);
        return t.Name;
    }

    private static AttributeProto IntAttribute(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static NodeProto Op(string op, NameSet names, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { OpType = op, Name = names.Make("pair_simulation_" + op) };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        return node;
    }
}
