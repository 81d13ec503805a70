using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx.Tests.Support;

/// <summary>
/// Our own fake-quant simulation of a quantized single-op model: weights, constants and biases replaced by their
/// fake-quantized values (QuantOps), the input fake-quantized, the FP32 op run, the output fake-quantized.
/// </summary>
internal static class Simulation
{
    public static float[] Run(QuantizationResult result, string input, InputTensor x)
    {
        var model = result.PreparedModel.Clone();
        var inits = model.Graph.Initializer.ToDictionary(i => i.Name);
        foreach (var e in result.Encodings)
        {
            if (!inits.TryGetValue(e.Tensor.Name, out var init))
            {
                continue;
            }

            var data = TensorData.ToFloats(init);
            var shape = TensorData.Shape(init);
            if (e.Encoding is { } enc)
            {
                QuantOps.FakeQuantize(data, shape, enc, data);
            }
            else
            {
                var s = e.BiasScales!;
                for (int i = 0; i < data.Length; i++)
                {
                    float scale = s[s.Count == 1 ? 0 : i];
                    data[i] = (float)(Math.Round((double)data[i] / scale, MidpointRounding.ToEven) * scale);
                }
            }

            model.Graph.Initializer.Remove(init);
            model.Graph.Initializer.Add(TensorData.Create<float>(init.Name, data, shape));
        }

        var xq = x.Floats().ToArray();
        if (result.Encodings.FirstOrDefault(e => e.Tensor.Name == input)?.Encoding is { } inEnc)
        {
            QuantOps.FakeQuantize(xq, xq, inEnc[0]);
        }

        using var runner = new ModelRunner(model);
        var y = runner.Run(new Dictionary<string, InputTensor> { [input] = InputTensor.FromFloats(xq, [.. x.Shape]) })[runner.OutputNames[0]].Data;
        if (result.Encodings.FirstOrDefault(e => e.Tensor.Name == runner.OutputNames[0])?.Encoding is { } outEnc)
        {
            QuantOps.FakeQuantize(y, y, outEnc[0]);
        }

        return y;
    }

    public static float OutputStep(QuantizationResult result) =>
        result.Encodings.Single(e => e.Tensor.Name == result.Model.Outputs[0].Name).Encoding!.Scales[0];
}
