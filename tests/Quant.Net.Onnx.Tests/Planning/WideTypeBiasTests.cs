using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Onnx;

public sealed class WideTypeBiasTests
{
    /// <summary>Weight and activation types with at least one 16-bit side.</summary>
    public static TheoryData<WeightType, ActivationType> SixteenBitTypes => new()
    {
        { WeightType.Int16, ActivationType.UInt16 },
        { WeightType.Int16, ActivationType.Int16 },
        { WeightType.Int16, ActivationType.UInt8 },
        { WeightType.Int8, ActivationType.UInt16 },
    };

    /// <summary>x → Conv(w ≈ ±0.01, b ≈ 30) → Conv(w2, b2) → y: at 16-bit scales s_x·s_w ≈ 1e-11, so b cannot be int32.</summary>
    private static (OnnxModel Model, InMemoryCalibrationData Data) Model(float biasOffset = 30f)
    {
        var random = new Random(3);
        float[] Values(int n, float scale, float offset = 0) => [.. Enumerable.Range(0, n).Select(_ => ((float)((random.NextDouble() * 2) - 1) * scale) + offset)];
        var model = new OnnxGraphBuilder(13, "wide_bias")
            .AddInput("x", 1, 3, 8, 8).AddOutput("y", 1, 4, 8, 8)
            .AddInitializer("w", Values(4 * 3 * 9, 0.01f), 4, 3, 3, 3).AddInitializer("b", Values(4, 0.01f, biasOffset), 4)
            .AddInitializer("w2", Values(4 * 4, 0.5f), 4, 4, 1, 1).AddInitializer("b2", Values(4, 0.1f), 4)
            .AddNode("Conv", ["x", "w", "b"], ["h"], new Dictionary<string, object> { ["kernel_shape"] = new long[] { 3, 3 }, ["pads"] = new long[] { 1, 1, 1, 1 } }, "conv")
            .AddNode("Conv", ["h", "w2", "b2"], ["y"], new Dictionary<string, object> { ["kernel_shape"] = new long[] { 1, 1 } }, "conv2")
            .Build();
        return (model, Samples.For("x", [1, 3, 8, 8], 8));
    }

    [Theory]
    [MemberData(nameof(SixteenBitTypes))]
    public void A_bias_that_does_not_fit_int32_stays_float_in_a_separate_add_and_the_model_stays_accurate_in_onnx_runtime(WeightType weights, ActivationType activations)
    {
        var (model, data) = Model();
        var result = OnnxQuantizer.Quantize(model, data, new QuantizationConfig { Weights = weights, Activations = activations });

        result.Encodings.Should().NotContain(e => e.Tensor.Name == "b", "its int32 code would saturate");
        result.Model.Nodes.Should().ContainSingle(n => n.OpType == "Add" && n.Outputs[0] == "h_float" || n.OpType == "Add" && n.Outputs[0] == "h",
            "ONNX Runtime's BiasQuantization would quantize a float bias input of the Conv at s_x·s_w and saturate it");
        result.Model.Nodes.Single(n => n.Name == "conv").Inputs.Should().HaveCount(2);
        // ORT with every optimization (the default) computes what the FP32 model does, within the 8/16-bit grids.
        var report = ModelComparer.Compare(model, result, data, latencyRuns: 0, perLayer: false);
        report.Outputs[0].CosineSimilarity.Should().BeGreaterThan(0.9999);
    }

    [Theory]
    [MemberData(nameof(SixteenBitTypes))]
    public void Sixteen_bit_models_with_small_biases_match_fp32_in_onnx_runtime(WeightType weights, ActivationType activations)
    {
        var (model, data) = Model(biasOffset: 0f);
        var result = OnnxQuantizer.Quantize(model, data, new QuantizationConfig { Weights = weights, Activations = activations });
        var report = ModelComparer.Compare(model, result, data, latencyRuns: 0, perLayer: true);
        report.Outputs[0].CosineSimilarity.Should().BeGreaterThan(0.9999, string.Join(", ", report.Layers.Select(l => $"{l.Tensor} {l.SqnrDecibels:F1} dB")));
    }

    [Fact]
    public void Biases_that_fit_stay_int32()
    {
        var (model, data) = Model();
        var result = OnnxQuantizer.Quantize(model, data, new QuantizationConfig());
        result.Encodings.Should().Contain(e => e.Tensor.Name == "b" && e.Tensor.Role == TensorRole.Bias);
        result.Model.Nodes.Should().NotContain(n => n.OpType == "Add");
        ModelComparer.Compare(model, result, data, latencyRuns: 0, perLayer: false).Outputs[0].CosineSimilarity.Should().BeGreaterThan(0.999);
    }
}
