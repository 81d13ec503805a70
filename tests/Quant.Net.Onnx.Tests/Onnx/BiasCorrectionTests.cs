using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Onnx;

public sealed class BiasCorrectionTests
{
    [Fact]
    public void Bias_correction_removes_the_mean_output_shift_of_coarse_weights()
    {
        var g = new GraphBuilder(seed: 41);
        string x = g.Input("x", 0, 3, 6, 6);
        string h = g.Node("Relu", [g.Conv(x, 3, 8)]);
        g.Output(g.Conv(h, 8, 4, output: "y"), 0, 4, 6, 6);
        var model = g.Build();
        // Positive inputs: a per-channel rounding bias of the weights becomes a systematic output shift.
        var data = Samples.For("x", [1, 3, 6, 6], 32, seed: 6, scale: 0.5f, offset: 1f);
        var config = new QuantizationConfig { Weights = WeightType.Int4, PerChannelWeights = false, Activations = ActivationType.Int16 };
        var plain = OnnxQuantizer.Quantize(model, data, config);
        var corrected = OnnxQuantizer.Quantize(model, data, config with { BiasCorrection = true });

        using var fp32 = new ModelRunner(model);
        using var a = new ModelRunner(plain.Model);
        using var b = new ModelRunner(corrected.Model);
        var shiftPlain = new double[4];
        var shiftCorrected = new double[4];
        foreach (var sample in data.GetSamples())
        {
            var r = fp32.Run(sample)["y"].Data;
            var ya = a.Run(sample)["y"].Data;
            var yb = b.Run(sample)["y"].Data;
            for (int i = 0; i < r.Length; i++)
            {
                shiftPlain[i / 36] += ya[i] - r[i];
                shiftCorrected[i / 36] += yb[i] - r[i];
            }
        }

        double before = shiftPlain.Sum(Math.Abs), after = shiftCorrected.Sum(Math.Abs);
        after.Should().BeLessThan(before * 0.25, $"mean output shift {before:F3} before, {after:F3} after");
        corrected.PreparedModel.ToBytes().Should().Equal(plain.PreparedModel.ToBytes(), "the FP32 reference model is not touched");
    }
}
