using Quant.Net.Kernels;
using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// Weight-only quantization of MatMul layers with a constant [K, N] weight (the linear layers of exported LLMs): the
/// weight goes to 4 or 8 bits in blocks along K, activations stay float. Written as MatMulNBits or as the opset-21
/// DequantizeLinear alternative, so either ONNX Runtime path works. Embedding tables go to int8 per row.
/// </summary>
public static class WeightOnlyQuantizer
{
    /// <summary>Quantizes a copy of <paramref name="model"/>.</summary>
    /// <param name="model">The FP32 model (not modified).</param>
    /// <param name="options">Bits, blocks, rounding, format.</param>
    /// <param name="calibrationData">Inputs the model is run on to measure each layer's input Hessian (GPTQ and SeqMSE).</param>
    /// <param name="progress">One report per layer quantized.</param>
    /// <param name="cancellationToken">Stops the work; nothing is returned.</param>
    /// <exception cref="ArgumentException">An excluded node does not exist, an option is out of range, or a data-aware method has no calibration data.</exception>
    /// <exception cref="OnnxFormatException">The model is malformed or cannot move to opset 21 (DequantizeLinear format).</exception>
    public static WeightOnlyResult Quantize(OnnxModel model, WeightOnlyOptions? options = null, ICalibrationDataSource? calibrationData = null,
        IProgress<QuantizationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new WeightOnlyOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.AccuracyLevel);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.AccuracyLevel, 4);
        var (prepared, _) = ModelPreparer.Prepare(model, options.Format == WeightOnlyFormat.DequantizeLinear ? 21 : 1, foldBatchNorm: false);
        var graph = prepared.Graph;
        var index = new GraphIndex(graph);
        var names = new NameSet(graph);
        var nodes = graph.Node.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var excluded in options.ExcludedNodes.Where(e => !nodes.Contains(e)))
        {
            throw new ArgumentException($"Excluded node '{excluded}' is not in the model.", nameof(options));
        }

        var weights = new Dictionary<string, BlockQuantizedWeights>(StringComparer.Ordinal);
        bool Eligible(NodeProto node) => node.OpType == "MatMul" && node.Domain is "" or "ai.onnx" && !options.ExcludedNodes.Contains(node.Name) && node.Input.Count == 2
            && index.Initializers.TryGetValue(node.Input[1], out var w) && w.Dims.Count == 2 && index.IsFloat(node.Input[1]);
        var layers = graph.Node.Where(Eligible).ToList();
        bool dataAware = options.Method != WeightOnlyMethod.Blockwise;
        if (dataAware && calibrationData is null)
        {
            throw new ArgumentException($"{options.Method} needs calibration data (the layers' inputs give their Hessians).", nameof(calibrationData));
        }

        var hessians = dataAware ? Hessians(prepared, layers.Select(l => (l.Input[0], (int)index.Initializers[l.Input[1]].Dims[0])).Distinct().ToList(), calibrationData!, cancellationToken) : null;
        foreach (var node in layers)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var init = index.Initializers[node.Input[1]];

            int k = (int)init.Dims[0], n = (int)init.Dims[1];
            var floats = TensorData.ToFloats(init);
            var w = options.Method switch
            {
                WeightOnlyMethod.Gptq => BlockQuantizedWeights.QuantizeGptq(floats, n, k, WeightLayout.KByN, hessians![node.Input[0]], options.Blocks, options.GptqDamping),
                WeightOnlyMethod.SeqMse => BlockQuantizedWeights.QuantizeSeqMse(floats, n, k, WeightLayout.KByN, hessians![node.Input[0]], options.Blocks),
                _ => BlockQuantizedWeights.Quantize(floats, n, k, WeightLayout.KByN, options.Blocks),
            };
            weights[node.Name] = w;
            string baseName = node.Input[1];
            if (options.Format == WeightOnlyFormat.MatMulNBits)
            {
                var (b, scales, zeroPoints) = MatMulNBitsLayout.From(w);
                string bName = names.Make(baseName + "_packed"), sName = names.Make(baseName + "_scales");
                var bTensor = TensorData.Create<byte>(bName, b, [n, w.BlockCount, w.BlockSize * w.Bits / 8]);
                graph.Initializer.Add(bTensor);
                graph.Initializer.Add(TensorData.Create<float>(sName, scales, [n * w.BlockCount]));
                var replacement = new NodeProto { Name = node.Name, OpType = "MatMulNBits", Domain = "com.microsoft" };
                replacement.Input.Add([node.Input[0], bName, sName]);
                if (zeroPoints is not null)
                {
                    string zName = names.Make(baseName + "_zero_points");
                    graph.Initializer.Add(TensorData.Create<byte>(zName, zeroPoints, [zeroPoints.Length]));
                    replacement.Input.Add(zName);
                }

                replacement.Output.Add(node.Output[0]);
                foreach (var (attribute, value) in new (string, long)[] { ("K", k), ("N", n), ("bits", w.Bits), ("block_size", w.BlockSize), ("accuracy_level", options.AccuracyLevel) })
                {
                    replacement.Attribute.Add(new AttributeProto { Name = attribute, Type = AttributeProto.Types.AttributeType.Int, I = value });
                }

                graph.Node[graph.Node.IndexOf(node)] = replacement;
            }
            else
            {
                WriteDequantizeLinear(graph, names, node, w, k, n);
            }

            graph.Initializer.Remove(init);
            progress?.Report(new QuantizationProgress("weight-only", weights.Count, layers.Count));
        }

        var embeddings = new List<string>();
        if (options.QuantizeEmbeddings && prepared.OpsetVersion >= 13)
        {
            foreach (var gather in graph.Node.Where(n => n.OpType == "Gather" && n.Domain is "" or "ai.onnx" && !options.ExcludedNodes.Contains(n.Name)).ToList())
            {
                if (EmbeddingWriter.TryWrite(graph, index, names, gather) is not null)
                {
                    embeddings.Add(gather.Name);
                }
            }
        }

        if (options.Format == WeightOnlyFormat.MatMulNBits && !prepared.Proto.OpsetImport.Any(o => o.Domain == "com.microsoft"))
        {
            prepared.Proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        }

        // The float weights and tables replaced (unless a branch or another node still reads them).
        GraphReads.DropUnusedInitializers(graph);
        QdqWriter.Finish(prepared, prepared.OpsetVersion);
        return new WeightOnlyResult(prepared, [.. weights.Keys, .. embeddings], weights);
    }

    /// <summary>H = Σ x·xᵀ [K, K] of each layer input over every row (all leading dimensions) of every calibration sample.</summary>
    private static Dictionary<string, double[]> Hessians(OnnxModel prepared, List<(string Tensor, int K)> inputs, ICalibrationDataSource data, CancellationToken cancellationToken)
    {
        var hessians = inputs.ToDictionary(i => i.Tensor, i => new double[(long)i.K * i.K], StringComparer.Ordinal);
        using var runner = new ModelRunner(prepared, 0, inputs.Select(i => i.Tensor));
        foreach (var sample in data.GetSamples(cancellationToken))
        {
            var outputs = runner.Run(sample);
            foreach (var (tensor, k) in inputs)
            {
                var (values, shape) = outputs[tensor];
                if (shape.Length == 0 || shape[^1] != k)
                {
                    throw new InvalidDataException($"Layer input '{tensor}' has shape [{string.Join(", ", shape)}]; its weight expects {k} features last.");
                }

                var h = hessians[tensor];
                var rowValues = new double[k];
                for (int r = 0; r < values.Length / k; r++)
                {
                    for (int i = 0; i < k; i++)
                    {
                        rowValues[i] = values[(r * k) + i];
                    }

                    // Lower triangle, mirrored below.
                    for (int i = 0; i < k; i++)
                    {
                        double xi = rowValues[i];
                        if (xi == 0)
                        {
                            continue;
                        }

                        var target = h.AsSpan(i * k, i + 1);
                        for (int j = 0; j <= i; j++)
                        {
                            target[j] += xi * rowValues[j];
                        }
                    }
                }
            }
        }

        foreach (var (tensor, k) in inputs)
        {
            var h = hessians[tensor];
            for (int i = 0; i < k; i++)
            {
                for (int j = i + 1; j < k; j++)
                {
                    h[(i * k) + j] = h[(j * k) + i];
                }
            }
        }

        return hessians;
    }

    /// <summary>W as [K, N] codes (int4/int8 signed if symmetric, else unsigned with zero points) + DequantizeLinear(axis 0, block_size).</summary>
    private static void WriteDequantizeLinear(GraphProto graph, NameSet names, NodeProto node, BlockQuantizedWeights w, int k, int n)
    {
        bool signed = w.IsSymmetric;
        int middle = 1 << (w.Bits - 1);
        var codes = new sbyte[k * n];
        var parameterShape = new[] { w.BlockCount, n };
        var scales = new float[w.BlockCount * n];
        var zeroPoints = new sbyte[w.BlockCount * n];
        for (int row = 0; row < n; row++)
        {
            for (int i = 0; i < k; i++)
            {
                int code = w.GetCode(row, i);
                codes[(i * n) + row] = (sbyte)(signed ? code - middle : code);
            }

            for (int blk = 0; blk < w.BlockCount; blk++)
            {
                scales[(blk * n) + row] = w.GetScale(row, blk);
                zeroPoints[(blk * n) + row] = (sbyte)w.GetZeroPoint(row, blk);
            }
        }

        string baseName = node.Input[1];
        string q = names.Make(baseName + "_quantized"), s = names.Make(baseName + "_scale"), dequantized = names.Make(baseName + "_dequantized");
        if (w.Bits == 4)
        {
            var packed = new byte[Int4Packing.PackedLength(codes.Length)];
            Int4Packing.Pack(codes, packed);
            graph.Initializer.Add(TensorData.CreateInt4(q, packed, [k, n], signed));
        }
        else if (signed)
        {
            graph.Initializer.Add(TensorData.Create<sbyte>(q, codes, [k, n]));
        }
        else
        {
            graph.Initializer.Add(TensorData.Create<byte>(q, [.. codes.Select(c => (byte)c)], [k, n]));
        }

        graph.Initializer.Add(TensorData.Create<float>(s, scales, parameterShape));
        var inputs = new List<string> { q, s };
        if (!signed)
        {
            string z = names.Make(baseName + "_zero_point");
            if (w.Bits == 4)
            {
                var packed = new byte[Int4Packing.PackedLength(zeroPoints.Length)];
                Int4Packing.Pack(zeroPoints, packed);
                graph.Initializer.Add(TensorData.CreateInt4(z, packed, parameterShape, isSigned: false));
            }
            else
            {
                graph.Initializer.Add(TensorData.Create<byte>(z, [.. zeroPoints.Select(c => (byte)c)], parameterShape));
            }

            inputs.Add(z);
        }

        var dq = QdqWriter.Dequantize(names.Make(baseName + "_DequantizeLinear"), [.. inputs], dequantized, QuantGranularity.PerBlock(0, w.BlockSize));
        graph.Node.Insert(graph.Node.IndexOf(node), dq);
        node.Input[1] = dequantized;
    }
}
