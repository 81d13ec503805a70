using Quant.Net.Onnx.Protobuf;
using Quant.Net.Rounding;

namespace Quant.Net.Onnx;

/// <summary>
/// AdaRound over a prepared model, layer by layer in graph order: each layer's inputs come from the QDQ model with every
/// earlier layer already quantized (its weights rounded by AdaRound), its targets from the FP32 model (after the fused
/// ReLU of a Conv/Gemm+Relu supergroup) — the asymmetric reconstruction AIMET uses. Conv (group 1, explicit padding),
/// Gemm and 2-D MatMul weights with per-tensor or per-output-channel encodings are optimized; others keep nearest rounding.
/// </summary>
internal static class AdaRoundPass
{
    public static Dictionary<string, int[]> Run(OnnxModel prepared, QuantizationPlan plan, Dictionary<string, TensorEncoding> encodings, QdqOpset opset,
        ICalibrationDataSource data, AdaRoundOptions options, IProgress<AdaRoundLayerReport>? progress, IProgress<QuantizationProgress>? stepProgress,
        CancellationToken cancellationToken)
    {
        var graph = prepared.Graph;
        var index = new GraphIndex(graph);
        var codes = new Dictionary<string, int[]>(StringComparer.Ordinal);
        var layers = plan.Tensors.Where(t => t.Role == TensorRole.Weight).Select(t => (Weight: t, Node: graph.Node.First(n => n.Name == t.Node)))
            .Where(l => Supported(l.Node, l.Weight, index)).ToList();

        // Every layer runs the same iterations: the step's time left counts layers alike.
        var step = new LayerStepProgress(stepProgress, "AdaRound", [.. layers.Select(_ => 1.0)]);
        for (int li = 0; li < layers.Count; li++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (weight, node) = layers[li];
            step.Starting(li, node.Name);
            var current = QdqWriter.Write(prepared, plan, encodings, opset, codes);
            string input = current.Graph.Node.First(n => n.Name == node.Name).Input[0];
            bool relu = index.Consumers(node.Output[0]) is [{ OpType: "Relu" } r] && !index.GraphOutputs.Contains(node.Output[0]);
            string target = relu ? index.Consumers(node.Output[0])[0].Output[0] : node.Output[0];
            var init = index.Initializers[weight.Name];
            var shape = TensorData.Shape(init);
            var (w, outFeatures, inFeatures) = Canonical(node, TensorData.ToFloats(init), shape);
            var bias = node.OpType is "Conv" or "Gemm" && node.Input.Count > 2 && node.Input[2].Length > 0
                ? ScaledBias(node, TensorData.ToFloats(index.Initializers[node.Input[2]])) : [];
            var (x, t, rowsPerSample) = Collect(node, current, input, prepared, target, data, inFeatures, outFeatures, shape, cancellationToken);
            var encoding = CanonicalEncoding(encodings[weight.Name].Encoding!, outFeatures);
            var ada = new AdaRound(w, inFeatures, outFeatures, bias, encoding, x, t, rowsPerSample, relu);
            var result = ada.Optimize(options, step.Inside(li, node.Name), cancellationToken);
            codes[weight.Name] = StorageOrder(node, result.Codes, shape);
            progress?.Report(new AdaRoundLayerReport(node.Name, li, layers.Count, result.NearestMse, result.AdaRoundMse));
            step.Finished(li + 1);
        }

        return codes;
    }

    private static bool Supported(NodeProto node, PlannedTensor weight, GraphIndex index)
    {
        var g = weight.Scheme.Granularity;
        if (g.Kind == QuantGranularityKind.PerBlock || !index.Initializers.TryGetValue(weight.Name, out var init))
        {
            return false;
        }

        return node.OpType switch
        {
            "Conv" => OpCatalog.Attribute(node, "group", 1L) == 1 && init.Dims.Count == 4
                && (node.Attribute.FirstOrDefault(a => a.Name == "auto_pad") is not { } pad || pad.S.ToStringUtf8() is "NOTSET" or ""),
            "Gemm" => OpCatalog.Attribute(node, "transA", 0L) == 0 && init.Dims.Count == 2,
            "MatMul" => init.Dims.Count == 2,
            _ => false,
        };
    }

    /// <summary>W as [out, in] rows (Gemm transB = 0 and MatMul store [in, out]).</summary>
    private static (float[] W, int Out, int In) Canonical(NodeProto node, float[] w, int[] shape)
    {
        if (node.OpType == "Conv")
        {
            return (w, shape[0], w.Length / shape[0]);
        }

        bool transposed = node.OpType == "MatMul" || OpCatalog.Attribute(node, "transB", 0L) == 0;
        return transposed ? (TensorData.Transpose(w, shape[0], shape[1]), shape[1], shape[0]) : (w, shape[0], shape[1]);
    }

    private static int[] StorageOrder(NodeProto node, int[] codes, int[] shape)
    {
        if (node.OpType == "Conv" || !(node.OpType == "MatMul" || OpCatalog.Attribute(node, "transB", 0L) == 0))
        {
            return codes;
        }

        return TensorData.Transpose(codes, shape[1], shape[0]); // codes are [out = shape[1], in = shape[0]]
    }

    private static float[] ScaledBias(NodeProto node, float[] bias) =>
        node.OpType == "Gemm" ? [.. bias.Select(b => b * OpCatalog.Attribute(node, "beta", 1f))] : bias;

    /// <summary>The encoding with its channel axis moved to 0 (the canonical [out, in] layout).</summary>
    private static QuantEncoding CanonicalEncoding(QuantEncoding encoding, int outFeatures) =>
        encoding.Scheme.Granularity.Kind == QuantGranularityKind.PerChannel && encoding.Count == outFeatures
            ? new QuantEncoding(encoding.Scheme.WithGranularity(QuantGranularity.PerChannel(0)), encoding.Scales, encoding.ZeroPoints)
            : encoding;

    /// <summary>Layer inputs from the quantized model and FP32 targets, one batch-1 sample at a time, as GEMM rows.</summary>
    private static (float[] X, float[] T, int RowsPerSample) Collect(NodeProto node, OnnxModel quantized, string input, OnnxModel fp32, string target,
        ICalibrationDataSource data, int inFeatures, int outFeatures, int[] weightShape, CancellationToken cancellationToken)
    {
        using var q = new ModelRunner(quantized, 0, [input], Int8Arithmetic.Exact);
        using var f = new ModelRunner(fp32, 0, [target]);
        var xs = new List<float>();
        var ts = new List<float>();
        int rowsPerSample = 0;
        foreach (var sample in data.GetSamples(cancellationToken))
        {
            var (x, xShape) = q.Run(sample)[input];
            var (t, tShape) = f.Run(sample)[target];
            int batch = xShape[0];
            for (int b = 0; b < batch; b++)
            {
                if (node.OpType == "Conv")
                {
                    int c = xShape[1], h = xShape[2], w = xShape[3], oh = tShape[2], ow = tShape[3];
                    var plane = x.AsSpan(b * c * h * w, c * h * w);
                    xs.AddRange(Patches(node, plane, c, h, w, weightShape[2], weightShape[3], oh, ow));
                    for (int p = 0; p < oh * ow; p++)
                    {
                        for (int o = 0; o < outFeatures; o++)
                        {
                            ts.Add(t[(((b * outFeatures) + o) * oh * ow) + p]);
                        }
                    }

                    rowsPerSample = oh * ow;
                }
                else
                {
                    int rows = x.Length / batch / inFeatures;
                    xs.AddRange(x.AsSpan(b * rows * inFeatures, rows * inFeatures).ToArray());
                    ts.AddRange(t.AsSpan(b * rows * outFeatures, rows * outFeatures).ToArray());
                    rowsPerSample = rows;
                }
            }
        }

        return ([.. xs], [.. ts], Math.Max(1, rowsPerSample));
    }

    /// <summary>im2col of one NCHW image: one row of C·KH·KW values per output position.</summary>
    private static float[] Patches(NodeProto node, ReadOnlySpan<float> image, int channels, int height, int width, int kh, int kw, int oh, int ow)
    {
        long[] strides = Ints(node, "strides", [1, 1]), dilations = Ints(node, "dilations", [1, 1]), pads = Ints(node, "pads", [0, 0, 0, 0]);
        int k = channels * kh * kw;
        var rows = new float[oh * ow * k];
        for (int y = 0; y < oh; y++)
        {
            for (int x = 0; x < ow; x++)
            {
                int row = ((y * ow) + x) * k;
                for (int c = 0; c < channels; c++)
                {
                    for (int i = 0; i < kh; i++)
                    {
                        long sy = (y * strides[0]) - pads[0] + (i * dilations[0]);
                        for (int j = 0; j < kw; j++)
                        {
                            long sx = (x * strides[1]) - pads[1] + (j * dilations[1]);
                            rows[row + (((c * kh) + i) * kw) + j] = sy >= 0 && sy < height && sx >= 0 && sx < width ? image[(int)((((c * height) + sy) * width) + sx)] : 0f;
                        }
                    }
                }
            }
        }

        return rows;
    }

    private static long[] Ints(NodeProto node, string name, long[] fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a && a.Ints.Count > 0 ? [.. a.Ints] : fallback;
}
