using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// Bias correction, layer by layer in graph order. Empirical: the mean per output channel of (FP32 pre-activation
/// output − quantized model's pre-activation output) over the calibration data is added to the layer's bias, so
/// quantization no longer shifts the expected output; each layer is measured with every earlier correction in place.
/// Analytical (where the layer's input is a folded BatchNorm's output, directly or through a ReLU): the shift
/// (W̃ − W)·E[x] follows from the BatchNorm's β and γ (<see cref="Quant.Net.Techniques.AnalyticalBiasCorrection"/>);
/// the other layers are corrected empirically when data is given, else left as they are.
/// </summary>
internal static class BiasCorrection
{
    /// <summary>Returns a copy of <paramref name="prepared"/> with corrected float biases (the quantized model is written from it).</summary>
    public static OnnxModel Apply(OnnxModel prepared, QuantizationPlan plan, Dictionary<string, TensorEncoding> encodings, QdqOpset opset,
        IReadOnlyDictionary<string, int[]>? codes, ICalibrationDataSource? data, bool analytical, IProgress<QuantizationProgress>? progress, CancellationToken cancellationToken)
    {
        var corrected = prepared.Clone();
        var layers = plan.Tensors.Where(t => t.Role == TensorRole.Bias).ToList();
        var step = new LayerStepProgress(progress, "bias correction", [.. layers.Select(_ => 1.0)]);
        for (int li = 0; li < layers.Count; li++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var bias = layers[li];
            var node = corrected.Graph.Node.First(n => n.Name == bias.Node);
            step.Starting(li, node.Name);
            if ((analytical && TryAnalytical(prepared, corrected, node, bias, encodings, codes)) || data is null)
            {
                step.Finished(li + 1);
                continue;
            }

            string fp32Output = node.Output[0];
            var quantized = QdqWriter.Write(corrected, plan, encodings, opset, codes);
            string quantizedOutput = quantized.Graph.Node.First(n => n.Name == node.Name).Output[0];
            int channels = (int)new GraphIndex(corrected.Graph).Initializers[bias.Name].Dims[0];
            var difference = new double[channels];
            long count = 0;
            int runs = 0;
            using (var f = new ModelRunner(prepared, 0, [fp32Output]))
            using (var q = new ModelRunner(quantized, 0, [quantizedOutput], Int8Arithmetic.Exact))
            {
                foreach (var sample in data.GetSamples(cancellationToken))
                {
                    var (a, shape) = f.Run(sample)[fp32Output];
                    var b = q.Run(sample)[quantizedOutput].Data;
                    int inner = shape.Length > 2 ? shape.Skip(2).Aggregate(1, (x, y) => x * y) : 1;
                    int batch = a.Length / (channels * inner);
                    for (int i = 0; i < a.Length; i++)
                    {
                        difference[(i / inner) % channels] += a[i] - b[i];
                    }

                    count += (long)batch * inner;
                    if (data.Count is > 0 and int samples)
                    {
                        step.Within(li, node.Name, (double)++runs / samples);
                    }
                }
            }

            if (data.Count is > 0)
            {
                step.Within(li, node.Name, 1, force: true);
            }

            var init = corrected.Graph.Initializer.First(i => i.Name == bias.Name);
            var values = TensorData.ToFloats(init);
            for (int c = 0; c < channels; c++)
            {
                values[c] += (float)(difference[c] / Math.Max(1, count));
            }

            corrected.Graph.Initializer[corrected.Graph.Initializer.IndexOf(init)] = TensorData.Create<float>(bias.Name, values, [channels]);
            step.Finished(li + 1);
        }

        return corrected;
    }

    /// <summary>Corrects one layer from its input's BatchNorm statistics; false where they are not known or the layout is not handled.</summary>
    private static bool TryAnalytical(OnnxModel prepared, OnnxModel corrected, NodeProto node, PlannedTensor bias, Dictionary<string, TensorEncoding> encodings,
        IReadOnlyDictionary<string, int[]>? codes)
    {
        var index = new GraphIndex(corrected.Graph);
        string input = node.Input[0];
        bool relu = false;
        if (!prepared.FoldedStatistics.TryGetValue(input, out var stats) && index.Producer(input) is { OpType: "Relu" } r
            && prepared.FoldedStatistics.TryGetValue(r.Input[0], out stats))
        {
            relu = true;
        }

        if (stats.Beta is null || encodings[bias.BiasWeight!].Encoding is not { } encoding)
        {
            return false;
        }

        var init = index.Initializers[bias.BiasWeight!];
        var w = TensorData.ToFloats(init);
        var shape = TensorData.Shape(init);
        var wq = new float[w.Length];
        if (codes is not null && codes.TryGetValue(bias.BiasWeight!, out var c))
        {
            QuantOps.Dequantize<short>([.. c.Select(v => (short)v)], shape, encoding, wq);
        }
        else
        {
            QuantOps.FakeQuantize(w, shape, encoding, wq);
        }

        int channels = stats.Beta.Length, inner;
        bool depthwise = false;
        if (node.OpType == "Conv" && shape.Length >= 3)
        {
            long group = OpCatalog.Attribute(node, "group", 1L);
            inner = shape.Skip(2).Aggregate(1, (a, b) => a * b);
            depthwise = group > 1 && group == channels && shape[0] == channels && shape[1] == 1;
            if ((group != 1 && !depthwise) || (!depthwise && shape[1] != channels))
            {
                return false;
            }
        }
        else if (node.OpType == "Gemm" && shape.Length == 2 && OpCatalog.Attribute(node, "transA", 0L) == 0)
        {
            inner = 1;
            bool transB = OpCatalog.Attribute(node, "transB", 0L) != 0;
            if ((transB ? shape[1] : shape[0]) != channels)
            {
                return false;
            }

            if (!transB)
            {
                w = TensorData.Transpose(w, shape[0], shape[1]);
                wq = TensorData.Transpose(wq, shape[0], shape[1]);
            }
        }
        else
        {
            return false;
        }

        var biasInit = corrected.Graph.Initializer.First(i => i.Name == bias.Name);
        var values = TensorData.ToFloats(biasInit);
        var mean = Quant.Net.Techniques.AnalyticalBiasCorrection.ExpectedInput(stats.Beta, stats.Gamma, relu);
        Quant.Net.Techniques.AnalyticalBiasCorrection.Correct(w, wq, mean, inner, values, depthwise);
        corrected.Graph.Initializer[corrected.Graph.Initializer.IndexOf(biasInit)] = TensorData.Create<float>(bias.Name, values, [values.Length]);
        return true;
    }
}
