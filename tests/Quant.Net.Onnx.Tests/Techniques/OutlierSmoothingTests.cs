using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;
using static Quant.Net.Onnx.Tests.Support.GraphBuilder;

namespace Quant.Net.Onnx.Tests.Onnx;

/// <summary>SmoothQuant-style outlier migration keeps the function and moves an outlier channel into the weights.</summary>
public sealed class OutlierSmoothingTests
{
    private const int Tokens = 6, Width = 16, Out = 12;

    /// <summary>h = LN(x) with γ making channel 3 an outlier (40×); y1 = h·W1, y2 = h·W2; with a residual, also r = h + y1.</summary>
    private static OnnxModel Model(bool residual)
    {
        var g = new GraphBuilder(17, seed: 31);
        string x = g.Input("x", 1, Tokens, Width);
        var gamma = Enumerable.Range(0, Width).Select(i => i == 3 ? 40f : 0.5f + (0.05f * i)).ToArray();
        string h = g.Node("LayerNormalization", [x, g.Initializer("gamma", gamma, Width), g.Random("beta", 0.2f, Width)], "h", Int("axis", -1));
        // As in pretrained encoders, the weights reading the outlier channel are small: every channel matters in h·W.
        string Weight(string name, int n, int seed)
        {
            var random = new Random(seed);
            return g.Initializer(name, [.. Enumerable.Range(0, Width * n).Select(i => (float)((random.NextDouble() - 0.5) * 0.6 * (i / n == 3 ? 0.025 : 1)))], Width, n);
        }

        string y1 = g.Node("MatMul", [h, Weight("w1", Width, 1)], "y1");
        g.Output(y1, 1, Tokens, Width);
        g.Output(g.Node("MatMul", [h, Weight("w2", Out, 2)], "y2"), 1, Tokens, Out);
        if (residual)
        {
            g.Output(g.Node("Add", [h, y1], "r"), 1, Tokens, Width);
        }

        return g.Build();
    }

    private static InMemoryCalibrationData Data(int count, int seed) => Samples.For("x", [1, Tokens, Width], count, seed: seed, scale: 2f);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Smoothing_keeps_the_function_and_raises_the_sqnr_of_the_layers_after_an_outlier_channel(bool residual)
    {
        var model = Model(residual);
        var plain = OnnxQuantizer.Quantize(model, Data(16, 1), new QuantizationConfig { OutlierSmoothing = false });
        var smooth = OnnxQuantizer.Quantize(model, Data(16, 1), new QuantizationConfig { OutlierSmoothing = true, OutlierSmoothingStrength = 0.5 });

        smooth.Preparation.SmoothedTensors.Should().Equal(["h"]);
        var muls = smooth.PreparedModel.Nodes.Where(n => n.OpType == "Mul").ToList();
        if (residual)
        {
            muls.Should().ContainSingle("the LayerNorm's output also feeds the residual Add: a Mul by 1/s goes on the MatMuls' edge only");
            smooth.PreparedModel.Nodes.Single(n => n.OpType == "Add").Inputs.Should().Contain("h", "the residual reads h unscaled");
        }
        else
        {
            muls.Should().BeEmpty("1/s is folded into the LayerNorm's γ and β");
        }

        model.Nodes.Should().NotContain(n => n.OpType == "Mul", "the input model is not modified");
        using var fp32 = new ModelRunner(model);
        using var smoothed = new ModelRunner(smooth.PreparedModel);
        using var q0 = new ModelRunner(plain.Model);
        using var q1 = new ModelRunner(smooth.Model);
        double noisePlain = 0, noiseSmooth = 0, signal = 0;
        foreach (var sample in Data(8, 5).GetSamples())
        {
            var expected = fp32.Run(sample);
            var same = smoothed.Run(sample);
            var a = q0.Run(sample);
            var b = q1.Run(sample);
            foreach (var output in new[] { "y1", "y2" })
            {
                var e = expected[output].Data;
                for (int i = 0; i < e.Length; i++)
                {
                    same[output].Data[i].Should().BeApproximately(e[i], 1e-4f * Math.Max(1f, Math.Abs(e[i])), "smoothing alone does not change the function");
                    signal += e[i] * (double)e[i];
                    noisePlain += Math.Pow(a[output].Data[i] - e[i], 2);
                    noiseSmooth += Math.Pow(b[output].Data[i] - e[i], 2);
                }
            }
        }

        double sqnrPlain = 10 * Math.Log10(signal / noisePlain), sqnrSmooth = 10 * Math.Log10(signal / noiseSmooth);
        sqnrSmooth.Should().BeGreaterThan(sqnrPlain + 3, $"the outlier channel no longer sets h's range ({sqnrPlain:F1} dB → {sqnrSmooth:F1} dB)");
    }

    [Fact]
    public void A_bad_strength_is_refused_with_the_parameter_named_and_dynamic_mode_without_data_skips_smoothing()
    {
        var model = Model(residual: false);
        var bad = () => OnnxQuantizer.Quantize(model, Data(2, 1), new QuantizationConfig { OutlierSmoothing = true, OutlierSmoothingStrength = 1.5 });
        bad.Should().Throw<ArgumentException>().WithMessage("*outlierSmoothingStrength*");
        OnnxQuantizer.Quantize(model, null, new QuantizationConfig { OutlierSmoothing = true, Mode = QuantizationMode.Dynamic }).Preparation.SmoothedTensors.Should().BeEmpty();
    }

    [Fact]
    public void The_searched_strength_is_as_good_as_the_best_fixed_one_and_better_than_none()
    {
        var model = Model(residual: true);
        var searched = OnnxQuantizer.Quantize(model, Data(16, 1), new QuantizationConfig { OutlierSmoothing = true });
        searched.Preparation.SmoothedTensors.Should().Equal(["h"]);
        double Sqnr(QuantizationResult r) => ModelComparer.Compare(model, r, Data(8, 5), latencyRuns: 0, perLayer: false).Outputs.Where(o => o.Name != "r").Min(o => o.SqnrDecibels);
        double none = Sqnr(OnnxQuantizer.Quantize(model, Data(16, 1), new QuantizationConfig { OutlierSmoothing = false }));
        double best = new[] { 0.3, 0.5, 0.7, 0.9 }.Max(a => Sqnr(OnnxQuantizer.Quantize(model, Data(16, 1), new QuantizationConfig { OutlierSmoothing = true, OutlierSmoothingStrength = a })));
        double chosen = Sqnr(searched);
        chosen.Should().BeGreaterThan(none + 3, "the outlier channel moved into the weights");
        // (It judges the layers on held-out calibration rows, not on these samples: close to the best, not always it.)
        chosen.Should().BeGreaterThan(best - 2, $"the search picks by the layers' error on held-out calibration rows (fixed strengths reach {best:F1} dB)");
    }
}
