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

public sealed class AnalyticalBiasCorrectionTests
{
    /// <summary>
    /// x (uniform, mean 1, variance 1/12) → Gemm → BatchNorm whose running statistics are the Gemm output's true ones →
    /// ReLU → Gemm: after folding, the second layer's input is ReLU(N(β, γ²)) per channel, as the method assumes.
    /// </summary>
    private static OnnxModel Model(out InMemoryCalibrationData data)
    {
        var random = new Random(8);
        float[] Values(int n, float scale) => [.. Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1) * scale)];
        const int inputs = 16, hidden = 24, outputs = 6;
        float[] w1 = Values(hidden * inputs, 0.4f), b1 = Values(hidden, 0.2f), w2 = Values(outputs * hidden, 0.5f), b2 = Values(outputs, 0.1f);
        var mean = new float[hidden];
        var variance = new float[hidden];
        for (int c = 0; c < hidden; c++)
        {
            mean[c] = b1[c] + Enumerable.Range(0, inputs).Sum(k => w1[(c * inputs) + k] * 1f);
            variance[c] = Enumerable.Range(0, inputs).Sum(k => w1[(c * inputs) + k] * w1[(c * inputs) + k] / 12f);
        }

        var gamma = Enumerable.Range(0, hidden).Select(_ => 0.5f + (float)random.NextDouble()).ToArray();
        var beta = Enumerable.Range(0, hidden).Select(_ => (float)random.NextDouble() - 0.3f).ToArray();
        var model = new OnnxGraphBuilder(13, "bn_mlp")
            .AddInput("x", null, inputs).AddOutput("y", null, outputs)
            .AddInitializer("w1", w1, hidden, inputs).AddInitializer("b1", b1, hidden)
            .AddInitializer("gamma", gamma, hidden).AddInitializer("beta", beta, hidden)
            .AddInitializer("mean", mean, hidden).AddInitializer("var", variance, hidden)
            .AddInitializer("w2", w2, outputs, hidden).AddInitializer("b2", b2, outputs)
            .AddNode("Gemm", ["x", "w1", "b1"], ["z"], new Dictionary<string, object> { ["transB"] = 1L }, "fc1")
            .AddNode("BatchNormalization", ["z", "gamma", "beta", "mean", "var"], ["n"], new Dictionary<string, object> { ["epsilon"] = 1e-5f }, "bn")
            .AddNode("Relu", ["n"], ["r"], name: "relu")
            .AddNode("Gemm", ["r", "w2", "b2"], ["y"], new Dictionary<string, object> { ["transB"] = 1L }, "fc2")
            .Build();
        data = Samples.For("x", [32, inputs], 48, seed: 9, scale: 0.5f, offset: 1f);   // uniform on [0.5, 1.5]: variance 1/12
        return model;
    }

    private static double[] MeanShift(OnnxModel reference, OnnxModel quantized, InMemoryCalibrationData data)
    {
        using var f = new ModelRunner(reference);
        using var q = new ModelRunner(quantized);
        var shift = new double[6];
        foreach (var sample in data.GetSamples())
        {
            var a = f.Run(sample)["y"].Data;
            var b = q.Run(sample)["y"].Data;
            for (int i = 0; i < a.Length; i++)
            {
                shift[i % 6] += (b[i] - a[i]) / (a.Length / 6.0 * 48);
            }
        }

        return shift;
    }

    [Fact]
    public void Batchnorm_statistics_alone_remove_the_mean_output_shift_without_calibration_data()
    {
        var model = Model(out var data);
        // fc1 stays FP32 so fc2's own shift is what is measured.
        var config = new QuantizationConfig { Weights = WeightType.Int3, PerChannelWeights = false, Activations = ActivationType.Int16, ExcludedNodes = ["fc1"] };
        var plain = OnnxQuantizer.Quantize(model, data, config);
        // No data at all for the analytical run (activation encodings given): fc2 is corrected from the BatchNorm's
        // statistics alone.
        var activations = plain.Encodings.Where(e => e.Tensor.Role == TensorRole.Activation && e.Encoding is not null)
            .ToDictionary(e => e.Tensor.Name, e => e.Encoding!);
        var analytical = OnnxQuantizer.Quantize(model, calibrationData: null,
            config with { BiasCorrection = true, BiasCorrectionMethod = BiasCorrectionMethod.Analytical }, fixedEncodings: activations);
        var empirical = OnnxQuantizer.Quantize(model, data, config with { BiasCorrection = true });

        double before = MeanShift(model, plain.Model, data).Sum(Math.Abs);
        double afterAnalytical = MeanShift(model, analytical.Model, data).Sum(Math.Abs);
        double afterEmpirical = MeanShift(model, empirical.Model, data).Sum(Math.Abs);
        afterAnalytical.Should().BeLessThan(before * 0.1, $"mean |shift| {before:F4} before, {afterAnalytical:F4} analytical, {afterEmpirical:F4} empirical");

        afterEmpirical.Should().BeLessThan(before * 0.1);
        analytical.Model.ToBytes().Should().NotEqual(plain.Model.ToBytes(), "fc2's bias moved without any data");
        analytical.PreparedModel.ToBytes().Should().Equal(plain.PreparedModel.ToBytes(), "the FP32 reference model is not touched");
    }
}
