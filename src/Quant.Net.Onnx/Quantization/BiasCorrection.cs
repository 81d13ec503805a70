using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// Empirical bias correction: layer by layer in graph order, the mean per output channel of (FP32 pre-activation output −
/// quantized model's pre-activation output) over the calibration data is added to the layer's bias, so quantization
/// no longer shifts the expected output. Each layer is measured with every earlier correction in place.
/// </summary>
internal static class BiasCorrection
{
    /// <summary>Returns a copy of <paramref name="prepared"/> with corrected float biases (the quantized model is written from it).</summary>
    public static OnnxModel Apply(OnnxModel prepared, QuantizationPlan plan, Dictionary<string, TensorEncoding> encodings, int opset,
        IReadOnlyDictionary<string, int[]>? codes, ICalibrationDataSource data, CancellationToken cancellationToken)
    {
        var corrected = prepared.Clone();
        var layers = plan.Tensors.Where(t => t.Role == TensorRole.Bias).ToList();
        foreach (var bias in layers)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var node = corrected.Graph.Node.First(n => n.Name == bias.Node);
            string fp32Output = node.Output[0];
            var quantized = QdqWriter.Write(corrected, plan, encodings, opset, codes);
            string quantizedOutput = quantized.Graph.Node.First(n => n.Name == node.Name).Output[0];
            int channels = (int)new GraphIndex(corrected.Graph).Initializers[bias.Name].Dims[0];
            var difference = new double[channels];
            long count = 0;
            using (var f = new ModelRunner(prepared, 0, [fp32Output]))
            using (var q = new ModelRunner(quantized, 0, [quantizedOutput]))
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
                }
            }

            var init = corrected.Graph.Initializer.First(i => i.Name == bias.Name);
            var values = TensorData.ToFloats(init);
            for (int c = 0; c < channels; c++)
            {
                values[c] += (float)(difference[c] / Math.Max(1, count));
            }

            corrected.Graph.Initializer[corrected.Graph.Initializer.IndexOf(init)] = TensorData.Create<float>(bias.Name, values, [channels]);
        }

        return corrected;
    }
}
