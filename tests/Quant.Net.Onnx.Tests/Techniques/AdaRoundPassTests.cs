using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;
using Quant.Net.Rounding;

namespace Quant.Net.Onnx.Tests.Onnx;

public sealed class AdaRoundPassTests
{
    [Fact]
    public void AdaRound_over_a_model_beats_nearest_rounding_at_4_bits_and_reports_every_layer()
    {
        var g = new GraphBuilder(seed: 31);
        string x = g.Input("x", 0, 3, 8, 8);
        string h = g.Node("Relu", [g.Conv(x, 3, 8)]);
        h = g.Node("Relu", [g.Conv(h, 8, 8)]);
        g.Output(g.Gemm(g.Node("Flatten", [g.Node("GlobalAveragePool", [h])]), 8, 5, output: "y"), 0, 5);
        var model = g.Build();
        var data = Samples.For("x", [1, 3, 8, 8], 48, seed: 4);
        var config = new QuantizationConfig { Weights = WeightType.Int4, PerChannelWeights = false, Activations = ActivationType.Int16 };
        var reports = new List<AdaRoundLayerReport>();
        var nearest = OnnxQuantizer.Quantize(model, data, config);
        var learned = OnnxQuantizer.Quantize(model, data, config with { AdaRound = new AdaRoundOptions { Iterations = 1000, LearningRate = 1e-2f, Seed = 1 } },
            adaRoundProgress: new Collector(reports));

        reports.Select(r => r.Layer).Should().HaveCount(3);
        reports.Should().OnlyContain(r => r.AdaRoundMse <= r.NearestMse * 1.02, "learned rounding is never meaningfully worse on its own data");
        reports.Should().Contain(r => r.AdaRoundMse < r.NearestMse * 0.9);
        using var fp32 = new ModelRunner(model);
        using var a = new ModelRunner(nearest.Model);
        using var b = new ModelRunner(learned.Model);
        double signal = 0, errorNearest = 0, errorLearned = 0;
        foreach (var sample in data.GetSamples())
        {
            var r = fp32.Run(sample)["y"].Data;
            var ya = a.Run(sample)["y"].Data;
            var yb = b.Run(sample)["y"].Data;
            for (int i = 0; i < r.Length; i++)
            {
                signal += r[i] * (double)r[i];
                errorNearest += (ya[i] - r[i]) * (double)(ya[i] - r[i]);
                errorLearned += (yb[i] - r[i]) * (double)(yb[i] - r[i]);
            }
        }

        double before = 10 * Math.Log10(signal / errorNearest), after = 10 * Math.Log10(signal / errorLearned);
        after.Should().BeGreaterThan(before + 1, $"W4 per-tensor: {before:F1} dB nearest, {after:F1} dB AdaRound");
    }

    private sealed class Collector(List<AdaRoundLayerReport> into) : IProgress<AdaRoundLayerReport>
    {
        public void Report(AdaRoundLayerReport value) => into.Add(value);
    }
}
