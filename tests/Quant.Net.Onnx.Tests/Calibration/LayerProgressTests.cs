using FluentAssertions;
using Quant.Net.Kernels;
using Quant.Net.Onnx.Tests.Support;
using Quant.Net.Rounding;

namespace Quant.Net.Onnx.Tests.Onnx;

/// <summary>
/// Progress inside the layers of the long per-layer steps (AdaRound, bias correction, GPTQ, SeqMSE) through
/// <see cref="QuantizationProgress"/>: within a layer the fraction only grows and ends at 1, times left are never
/// negative, layers come in order, and the quantized model is the same bytes with and without a receiver.
/// </summary>
public sealed class LayerProgressTests
{
    [Fact]
    public void AdaRound_and_bias_correction_report_inside_each_layer_and_change_nothing()
    {
        var g = new GraphBuilder(seed: 31);
        string x = g.Input("x", 0, 3, 8, 8);
        string h = g.Node("Relu", [g.Conv(x, 3, 8)]);
        g.Output(g.Gemm(g.Node("Flatten", [g.Node("GlobalAveragePool", [h])]), 8, 5, output: "y"), 0, 5);
        var model = g.Build();
        var data = Samples.For("x", [1, 3, 8, 8], 24, seed: 4);
        var config = new QuantizationConfig { Weights = WeightType.Int4, AdaRound = new AdaRoundOptions { Iterations = 300, Seed = 1 }, BiasCorrection = true };

        var reports = new Collector();
        var watched = OnnxQuantizer.Quantize(model, data, config, progress: reports);
        var plain = OnnxQuantizer.Quantize(model, data, config);

        watched.Model.ToBytes().Should().Equal(plain.Model.ToBytes(), "progress changes nothing in the result");
        CheckLayers(reports, "AdaRound", 2);
        CheckLayers(reports, "bias correction", 2);
        reports.Values.Select(r => r.Stage).Distinct().Should().ContainInOrder("calibration", "AdaRound", "bias correction");
    }

    [Theory]
    [InlineData(WeightOnlyMethod.Gptq)]
    [InlineData(WeightOnlyMethod.SeqMse)]
    public void Gptq_and_SeqMse_report_inside_each_layer_and_change_nothing(WeightOnlyMethod method)
    {
        var g = new GraphBuilder(seed: 5);
        string x = g.Input("x", 0, 4, 64);
        string hidden = g.Node("Relu", [g.Node("MatMul", [x, g.Random("w1", 0.2f, 64, 96)], name: "up")]);
        g.Output(g.Node("MatMul", [hidden, g.Random("w2", 0.2f, 96, 32)], "y", name: "down"), 0, 4, 32);
        var model = g.Build();
        var data = Samples.For("x", [1, 4, 64], 16, seed: 9);
        var options = new WeightOnlyOptions { Method = method, Blocks = new BlockQuantizationOptions { BlockSize = 32 } };

        var reports = new Collector();
        var watched = WeightOnlyQuantizer.Quantize(model, options, data, reports);
        var plain = WeightOnlyQuantizer.Quantize(model, options, data);

        watched.Model.ToBytes().Should().Equal(plain.Model.ToBytes(), "progress changes nothing in the result");
        CheckLayers(reports, "weight-only", 2);
        var hessians = reports.Values.Where(r => r.Stage == "Hessians").ToList();
        hessians.Select(r => r.Done).Should().BeInAscendingOrder().And.StartWith(0).And.EndWith(16);
        hessians.Should().OnlyContain(r => r.Total == 16);
    }

    /// <summary>
    /// The stage's reports: layers in order, each one's fraction growing from 0 to 1 (the last report inside it), times
    /// left never negative, and a last report with every layer done.
    /// </summary>
    private static void CheckLayers(Collector reports, string stage, int layers)
    {
        var stageReports = reports.Values.Where(r => r.Stage == stage).ToList();
        stageReports.Should().NotBeEmpty();
        stageReports.Should().OnlyContain(r => r.Total == layers);
        stageReports.Select(r => r.Done).Should().BeInAscendingOrder();
        stageReports[^1].Done.Should().Be(layers);
        stageReports[^1].Remaining.Should().Be(TimeSpan.Zero);
        stageReports.Where(r => r.Remaining is not null).Should().OnlyContain(r => r.Remaining >= TimeSpan.Zero);
        stageReports.Where(r => r.LayerRemaining is not null).Should().OnlyContain(r => r.LayerRemaining >= TimeSpan.Zero);
        var inside = stageReports.Where(r => r.Layer is not null).GroupBy(r => r.Done).ToList();
        inside.Select(l => l.Key).Should().Equal(Enumerable.Range(0, layers), "every layer reports from inside");
        foreach (var layer in inside)
        {
            layer.Select(r => r.Layer).Distinct().Should().ContainSingle();
            var fractions = layer.Select(r => r.LayerFraction!.Value).ToList();
            fractions.Should().BeInAscendingOrder().And.OnlyContain(f => f >= 0 && f <= 1);
            fractions[0].Should().Be(0);
            fractions[^1].Should().Be(1, $"layer {layer.First().Layer} ends done");
            layer.Last().LayerRemaining.Should().Be(TimeSpan.Zero);
        }
    }

    private sealed class Collector : IProgress<QuantizationProgress>
    {
        public List<QuantizationProgress> Values { get; } = [];

        public void Report(QuantizationProgress value) => Values.Add(value);
    }
}
