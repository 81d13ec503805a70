using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Onnx;

public sealed class CrossLayerEqualizationTests
{
    /// <summary>
    /// The DFQ paper's failure case in miniature: the first conv's output channels span four orders of magnitude (the
    /// next conv compensates), so one per-tensor weight scale wipes out the small channels.
    /// </summary>
    internal static OnnxModel WildChannelRanges()
    {
        var g = new GraphBuilder(seed: 21);
        string x = g.Input("x", 0, 4, 8, 8);
        string c1 = g.Conv(x, 4, 8);
        var w1 = g.Graph.Initializer.Single(i => i.Name == g.Graph.Node[^1].Input[1]);
        var data = TensorData.ToFloats(w1);
        float[] factors = [0.005f, 0.02f, 0.1f, 0.5f, 1f, 3f, 10f, 30f];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] *= factors[i / 36];
        }

        g.Graph.Initializer.Remove(w1);
        g.Graph.Initializer.Add(TensorData.Create<float>(w1.Name, data, [8, 4, 3, 3]));
        string bn = g.BatchNorm(c1, 8);
        string c2 = g.Conv(g.Node("Relu", [bn]), 8, 6);
        var w2 = g.Graph.Initializer.Single(i => i.Name == g.Graph.Node[^1].Input[1]);
        var second = TensorData.ToFloats(w2);
        for (int i = 0; i < second.Length; i++)
        {
            second[i] /= factors[(i / 9) % 8];
        }

        g.Graph.Initializer.Remove(w2);
        g.Graph.Initializer.Add(TensorData.Create<float>(w2.Name, second, [6, 8, 3, 3]));
        g.Output(g.Node("Relu", [c2], "y"), 0, 6, 8, 8);
        return g.Build();
    }

    [Fact]
    public void Equalization_keeps_the_fp32_function_and_recovers_per_tensor_int8()
    {
        var model = WildChannelRanges();
        var data = Samples.For("x", [1, 4, 8, 8], 16, seed: 2);
        var perTensor = new QuantizationConfig { PerChannelWeights = false };
        var plain = OnnxQuantizer.Quantize(model, data, perTensor);
        var equalized = OnnxQuantizer.Quantize(model, data, perTensor with { CrossLayerEqualization = true });
        equalized.Preparation.EqualizedPairs.Should().Be(1);

        using var fp32 = new ModelRunner(model);
        using var fp32Equalized = new ModelRunner(equalized.PreparedModel);
        using var q0 = new ModelRunner(plain.Model);
        using var q1 = new ModelRunner(equalized.Model);
        double signal = 0, noisePlain = 0, noiseEqualized = 0;
        foreach (var sample in Samples.For("x", [1, 4, 8, 8], 8, seed: 9).GetSamples())
        {
            var reference = fp32.Run(sample)["y"].Data;
            var same = fp32Equalized.Run(sample)["y"].Data;
            var a = q0.Run(sample)["y"].Data;
            var b = q1.Run(sample)["y"].Data;
            for (int i = 0; i < reference.Length; i++)
            {
                same[i].Should().BeApproximately(reference[i], 1e-3f + (1e-3f * Math.Abs(reference[i])), "equalization does not change the FP32 function");
                signal += reference[i] * (double)reference[i];
                noisePlain += (a[i] - reference[i]) * (double)(a[i] - reference[i]);
                noiseEqualized += (b[i] - reference[i]) * (double)(b[i] - reference[i]);
            }
        }

        double before = 10 * Math.Log10(signal / noisePlain), after = 10 * Math.Log10(signal / noiseEqualized);
        after.Should().BeGreaterThan(before + 6, $"per-tensor int8: {before:F1} dB without CLE, {after:F1} dB with");
    }

    [Fact]
    public void Pair_scales_give_both_layers_the_same_channel_ranges()
    {
        float[] first = [1, -2, 0.01f, 0.02f, 8, 4];   // 3 channels × 2
        float[] bias = [1, 1, 1];
        float[] second = [1, 0.5f, 2, -3, 1, 0.25f];   // 2 outputs × 3 channels × 1
        var scales = Techniques.CrossLayerEqualization.EqualizePair(first, 3, bias, second, 1);
        for (int c = 0; c < 3; c++)
        {
            float r1 = Math.Max(Math.Abs(first[c * 2]), Math.Abs(first[(c * 2) + 1]));
            float r2 = Math.Max(Math.Abs(second[c]), Math.Abs(second[3 + c]));
            r1.Should().BeApproximately(r2, 1e-5f * r2);
            bias[c].Should().BeApproximately(1 / scales[c], 1e-6f);
        }
    }
}
