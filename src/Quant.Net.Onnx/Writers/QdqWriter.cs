using Quant.Net.Onnx.Protobuf;
using DataType = Quant.Net.Onnx.Protobuf.TensorProto.Types.DataType;

namespace Quant.Net.Onnx;

/// <summary>
/// Writes a QDQ model: float weights become integer initializers followed by DequantizeLinear (per-channel with
/// <c>axis</c>, per-block with <c>block_size</c>), biases become int32 with scale = input scale × weight scale, and every
/// quantized activation passes through QuantizeLinear → DequantizeLinear. This is the layout ONNX Runtime's CPU
/// provider fuses into QLinearConv, QLinearMatMul, QGemm, QLinearAdd and friends.
/// </summary>
internal static class QdqWriter
{
    public static OnnxModel Write(OnnxModel prepared, QuantizationPlan plan, IReadOnlyDictionary<string, TensorEncoding> encodings, QdqOpset opset,
        IReadOnlyDictionary<string, int[]>? fixedCodes = null)
    {
        var model = prepared.Clone();
        var graph = model.Graph;
        var names = new NameSet(graph);
        var index = new GraphIndex(graph);
        var initializers = graph.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var added = new List<NodeProto>();
        var separateBiases = FloatBiasesOutOfInt32Range(graph, plan, encodings, initializers);
        foreach (var planned in plan.Tensors)
        {
            var encoding = encodings[planned.Name];
            string t = planned.Name;
            switch (planned.Role)
            {
                case TensorRole.Weight or TensorRole.Constant:
                {
                    var init = initializers[t];
                    var data = TensorData.ToFloats(init);
                    var shape = TensorData.Shape(init);
                    var enc = encoding.Encoding!;
                    string q = names.Make(t + "_quantized"), s = names.Make(t + "_scale"), z = names.Make(t + "_zero_point");
                    var parameterShape = enc.GetParameterShape(shape);
                    graph.Initializer.Add(fixedCodes is not null && fixedCodes.TryGetValue(t, out var given) ? FromCodes(q, given, shape, enc.Scheme) : Codes(q, data, shape, enc));
                    graph.Initializer.Add(TensorData.Create<float>(s, enc.Scales, parameterShape));
                    graph.Initializer.Add(ZeroPoints(z, enc, parameterShape));
                    graph.Initializer.Remove(init);
                    added.Add(Dequantize(names.Make(t + "_DequantizeLinear"), [q, s, z], t, enc.Scheme.Granularity));
                    break;
                }

                case TensorRole.Bias:
                {
                    var init = initializers[t];
                    var data = TensorData.ToFloats(init);
                    var scales = encoding.BiasScales!;
                    var codes = new int[data.Length];
                    for (int i = 0; i < data.Length; i++)
                    {
                        double v = Math.Round((double)data[i] / scales[scales.Count == 1 ? 0 : i], MidpointRounding.ToEven);
                        codes[i] = (int)Math.Clamp(v, int.MinValue, int.MaxValue);
                    }

                    string q = names.Make(t + "_quantized"), s = names.Make(t + "_scale");
                    graph.Initializer.Add(TensorData.Create<int>(q, codes, [data.Length]));
                    graph.Initializer.Add(TensorData.Create<float>(s, [.. scales], scales.Count == 1 ? [] : [scales.Count]));
                    graph.Initializer.Remove(init);
                    added.Add(Dequantize(names.Make(t + "_DequantizeLinear"), [q, s], t,
                        scales.Count == 1 ? QuantGranularity.PerTensor : QuantGranularity.PerChannel(0)));
                    break;
                }

                default:
                {
                    var enc = encoding.Encoding!;
                    string s = names.Make(t + "_scale"), z = names.Make(t + "_zero_point"), q = names.Make(t + "_quantized");
                    graph.Initializer.Add(TensorData.Create<float>(s, enc.Scales, []));
                    graph.Initializer.Add(ZeroPoints(z, enc, []));
                    string source = t, target = t;
                    var floatReaders = planned.FloatReaders.ToHashSet(StringComparer.Ordinal);
                    if (index.Producer(t) is { } producer)
                    {
                        source = names.Make(t + "_float");
                        for (int i = 0; i < producer.Output.Count; i++)
                        {
                            if (producer.Output[i] == t)
                            {
                                producer.Output[i] = source;
                            }
                        }

                        // Readers that take the float value read the producer's output directly.
                        Rewire(index.Consumers(t).Where(c => floatReaders.Contains(c.Name)), t, source);
                    }
                    else
                    {
                        target = names.Make(t + "_dequantized");
                        Rewire(index.Consumers(t).Where(c => !floatReaders.Contains(c.Name)), t, target);
                    }

                    // Readers of the shape alone read the codes: no DequantizeLinear runs just to take a shape.
                    Rewire(index.Consumers(t).Where(c => c.OpType is "Shape" or "Size" && !floatReaders.Contains(c.Name)), target, q);
                    var quantize = new NodeProto { Name = names.Make(t + "_QuantizeLinear"), OpType = "QuantizeLinear" };
                    quantize.Input.Add([source, s, z]);
                    quantize.Output.Add(q);
                    added.Add(quantize);
                    added.Add(Dequantize(names.Make(t + "_DequantizeLinear"), [q, s, z], target, QuantGranularity.PerTensor));
                    break;
                }
            }
        }

        foreach (var (node, spatial) in separateBiases)
        {
            added.Add(SeparateBias(node, spatial, graph, names, initializers[node.Input[2]]));
        }

        if (opset.Microsoft)
        {
            // ONNX Runtime's contrib operators take 16-bit and 4-bit types at any opset.
            foreach (var node in added.Where(n => n.OpType is "QuantizeLinear" or "DequantizeLinear"))
            {
                node.Domain = "com.microsoft";
            }

            if (!model.Proto.OpsetImport.Any(o => o.Domain == "com.microsoft"))
            {
                model.Proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
            }
        }

        graph.Node.AddRange(added);
        Finish(model, opset.Version);
        return model;
    }

    private static void Rewire(IEnumerable<NodeProto> consumers, string from, string to)
    {
        foreach (var consumer in consumers)
        {
            for (int i = 0; i < consumer.Input.Count; i++)
            {
                if (consumer.Input[i] == from)
                {
                    consumer.Input[i] = to;
                }
            }
        }
    }

    /// <summary>
    /// Conv/Gemm nodes whose input and weight are quantized but whose float bias would not fit int32 at the scale
    /// s_in·s_w (16-bit encodings). ONNX Runtime's BiasQuantization transformer (a basic-level optimization) quantizes
    /// such a float bias to int32 at exactly that scale and saturates it; a bias applied by a separate Add is left alone.
    /// </summary>
    private static List<(NodeProto Node, int Spatial)> FloatBiasesOutOfInt32Range(GraphProto graph, QuantizationPlan plan,
        IReadOnlyDictionary<string, TensorEncoding> encodings, Dictionary<string, TensorProto> initializers)
    {
        var nodes = new List<(NodeProto, int)>();
        foreach (var node in graph.Node)
        {
            if (node.OpType is not ("Conv" or "Gemm") || node.Domain is not ("" or "ai.onnx") || node.Input.Count < 3 || node.Input[2].Length == 0
                || !initializers.TryGetValue(node.Input[2], out var bias) || plan[node.Input[2]] is not null
                || plan[node.Input[0]] is not { Role: TensorRole.Activation } || plan[node.Input[1]] is not { Role: TensorRole.Weight }
                || encodings[node.Input[0]].Encoding is not { } input || encodings[node.Input[1]].Encoding is not { } weight)
            {
                continue;
            }

            if (!BiasCodesFit(TensorData.ToFloats(bias), c => (double)input.Scales[0] * weight.Scales[weight.Count == 1 ? 0 : Math.Min(c, weight.Count - 1)], int.MaxValue))
            {
                nodes.Add((node, Math.Max(0, initializers[node.Input[1]].Dims.Count - 2)));
            }
        }

        return nodes;
    }

    /// <summary>Whether every |bias[c] / scale(c)| is at most <paramref name="limit"/> (an int32 bias code would hold it).</summary>
    internal static bool BiasCodesFit(float[] bias, Func<int, double> scale, double limit)
    {
        for (int c = 0; c < bias.Length; c++)
        {
            if (Math.Abs(bias[c] / scale(c)) > limit)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Node(x, w, b) → Node(x, w) + Add(b) with b shaped to broadcast over the output (Gemm: β·C).</summary>
    private static NodeProto SeparateBias(NodeProto node, int spatial, GraphProto graph, NameSet names, TensorProto bias)
    {
        var values = TensorData.ToFloats(bias);
        var shape = TensorData.Shape(bias);
        if (node.OpType == "Gemm")
        {
            float beta = OpCatalog.Attribute(node, "beta", 1f);
            values = [.. values.Select(v => v * beta)];
        }
        else
        {
            // Conv output [N, M, spatial...]: the bias as [M, 1, ..., 1].
            shape = [values.Length, .. Enumerable.Repeat(1, spatial)];
        }

        string constant = names.Make(bias.Name + "_separate");
        graph.Initializer.Add(TensorData.Create<float>(constant, values, shape));
        string output = node.Output[0], withoutBias = names.Make(output + "_without_bias");
        node.Input.RemoveAt(2);
        node.Output[0] = withoutBias;
        if (!graph.Node.Any(n => n.Input.Contains(bias.Name)))
        {
            graph.Initializer.Remove(bias);
        }

        var add = new NodeProto { Name = names.Make(node.Name + "_bias"), OpType = "Add" };
        add.Input.Add([withoutBias, constant]);
        add.Output.Add(output);
        return add;
    }

    /// <summary>Sets the opset (and a matching IR version), sorts the nodes and stamps the producer.</summary>
    internal static void Finish(OnnxModel model, int opset)
    {
        var defaultOpset = model.Proto.OpsetImport.First(o => o.Domain is "" or "ai.onnx");
        defaultOpset.Version = Math.Max(defaultOpset.Version, opset);
        model.Proto.IrVersion = Math.Max(model.Proto.IrVersion, OpsetConverter.IrVersionFor((int)defaultOpset.Version));
        TopologicalOrder.Sort(model.Graph);
        model.Proto.MetadataProps.Add(new StringStringEntryProto { Key = "quantized_by", Value = "Quant.Net " + typeof(QdqWriter).Assembly.GetName().Version });
    }

    internal static NodeProto Dequantize(string name, string[] inputs, string output, QuantGranularity granularity)
    {
        var node = new NodeProto { Name = name, OpType = "DequantizeLinear" };
        node.Input.Add(inputs);
        node.Output.Add(output);
        if (granularity.Kind != QuantGranularityKind.PerTensor)
        {
            node.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = granularity.Axis });
        }

        if (granularity.Kind == QuantGranularityKind.PerBlock)
        {
            node.Attribute.Add(new AttributeProto { Name = "block_size", Type = AttributeProto.Types.AttributeType.Int, I = granularity.BlockSize });
        }

        return node;
    }

    private static TensorProto Codes(string name, float[] data, int[] shape, QuantEncoding encoding)
    {
        var scheme = encoding.Scheme;
        switch (scheme.BitWidth, scheme.IsSigned)
        {
            case (<= 4, _):
                var packed = new byte[Int4Packing.PackedLength(data.Length)];
                QuantOps.QuantizeInt4(data, shape, encoding, packed);
                return TensorData.CreateInt4(name, packed, shape, scheme.IsSigned);
            case (8, true):
                var s8 = new sbyte[data.Length];
                QuantOps.Quantize<sbyte>(data, shape, encoding, s8);
                return TensorData.Create<sbyte>(name, s8, shape);
            case (8, false):
                var u8 = new byte[data.Length];
                QuantOps.Quantize<byte>(data, shape, encoding, u8);
                return TensorData.Create<byte>(name, u8, shape);
            case (16, true):
                var s16 = new short[data.Length];
                QuantOps.Quantize<short>(data, shape, encoding, s16);
                return TensorData.Create<short>(name, s16, shape);
            case (16, false):
                var u16 = new ushort[data.Length];
                QuantOps.Quantize<ushort>(data, shape, encoding, u16);
                return TensorData.Create<ushort>(name, u16, shape);
            default:
                throw new NotSupportedException($"Tensor '{name}': {scheme.BitWidth}-bit codes have no ONNX type (4, 8 and 16 bits do).");
        }
    }

    /// <summary>Integer codes chosen elsewhere (AdaRound), stored in the scheme's ONNX type.</summary>
    private static TensorProto FromCodes(string name, int[] codes, int[] shape, QuantScheme scheme)
    {
        switch (scheme.BitWidth, scheme.IsSigned)
        {
            case (<= 4, _):
                var values = codes.Select(c => (sbyte)c).ToArray();
                var packed = new byte[Int4Packing.PackedLength(values.Length)];
                Int4Packing.Pack(values, packed);
                return TensorData.CreateInt4(name, packed, shape, scheme.IsSigned);
            case (8, true):
                return TensorData.Create<sbyte>(name, [.. codes.Select(c => (sbyte)c)], shape);
            case (8, false):
                return TensorData.Create<byte>(name, [.. codes.Select(c => (byte)c)], shape);
            case (16, true):
                return TensorData.Create<short>(name, [.. codes.Select(c => (short)c)], shape);
            default:
                return TensorData.Create<ushort>(name, [.. codes.Select(c => (ushort)c)], shape);
        }
    }

    internal static TensorProto ZeroPoints(string name, QuantEncoding encoding, int[] shape)
    {
        var zp = encoding.ZeroPoints;
        var scheme = encoding.Scheme;
        switch (scheme.BitWidth, scheme.IsSigned)
        {
            case (<= 4, _):
                var values = new sbyte[zp.Length];
                for (int i = 0; i < zp.Length; i++)
                {
                    values[i] = (sbyte)zp[i];
                }

                var packed = new byte[Int4Packing.PackedLength(zp.Length)];
                Int4Packing.Pack(values, packed);
                return TensorData.CreateInt4(name, packed, shape, scheme.IsSigned);
            case (8, true):
                return TensorData.Create<sbyte>(name, [.. zp.ToArray().Select(v => (sbyte)v)], shape);
            case (8, false):
                return TensorData.Create<byte>(name, [.. zp.ToArray().Select(v => (byte)v)], shape);
            case (16, true):
                return TensorData.Create<short>(name, [.. zp.ToArray().Select(v => (short)v)], shape);
            default:
                return TensorData.Create<ushort>(name, [.. zp.ToArray().Select(v => (ushort)v)], shape);
        }
    }
}
