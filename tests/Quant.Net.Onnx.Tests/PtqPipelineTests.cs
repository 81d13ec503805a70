using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;
using Quant.Net.Rounding;

namespace Quant.Net.Onnx.Tests.Onnx;

public sealed class PtqPipelineTests
{
    [Fact]
    public void The_pipeline_stops_at_the_first_good_enough_step_and_otherwise_tries_every_step_keeping_the_best()
    {
        var model = CrossLayerEqualizationTests.WildChannelRanges();
        var data = Samples.For("x", [1, 4, 8, 8], 16, seed: 2);
        var held = Samples.For("x", [1, 4, 8, 8], 8, seed: 8).GetSamples().ToList();
        using var fp32 = new ModelRunner(model);
        var reference = held.Select(s => fp32.Run(s)["y"].Data).ToList();
        double Score(OnnxModel candidate)
        {
            using var runner = new ModelRunner(candidate);
            double signal = 0, noise = 0;
            for (int i = 0; i < held.Count; i++)
            {
                var y = runner.Run(held[i])["y"].Data;
                for (int j = 0; j < y.Length; j++)
                {
                    signal += reference[i][j] * (double)reference[i][j];
                    noise += (y[j] - reference[i][j]) * (double)(y[j] - reference[i][j]);
                }
            }

            return noise == 0 ? 100 : Math.Min(100, 10 * Math.Log10(signal / noise)); // SQNR in dB as the score
        }

        var config = new QuantizationConfig { PerChannelWeights = false };
        var easy = PtqPipeline.Run(model, data, Score, allowedDrop: 100, config);
        easy.Steps.Select(s => s.Step).Should().Equal("nearest");
        easy.TargetMet.Should().BeTrue();

        var reports = new List<PtqStepReport>();
        var hard = PtqPipeline.Run(model, data, Score, allowedDrop: 0, config, new AdaRoundOptions { Iterations = 200 }, new Collector(reports));
        hard.Steps.Should().HaveCount(4);
        reports.Should().HaveCount(4);
        hard.TargetMet.Should().BeFalse("SQNR can never reach the FP32 score of 100 dB");
        hard.Steps[1].Score.Should().BeGreaterThan(hard.Steps[0].Score + 6, "cross-layer equalization is what this model needs");
        Score(hard.Result.Model).Should().BeApproximately(hard.Steps.Max(s => s.Score), 1e-9);
    }

    private sealed class Collector(List<PtqStepReport> into) : IProgress<PtqStepReport>
    {
        public void Report(PtqStepReport value) => into.Add(value);
    }
}
