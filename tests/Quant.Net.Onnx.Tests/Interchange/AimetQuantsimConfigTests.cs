using FluentAssertions;
using static Quant.Net.Onnx.Tests.Support.Samples;

namespace Quant.Net.Onnx.Tests.Interchange;

/// <summary>AIMET's quantsim config files (all that AIMET ships, as fixtures) load through the same path as ours.</summary>
public sealed class AimetQuantsimConfigTests
{
    private static string Fixtures => Path.Combine(AppContext.BaseDirectory, "Interchange", "Data", "aimet_configs");

    public static TheoryData<string> ShippedConfigs() => [.. Directory.GetFiles(Fixtures, "*.json").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Fact]
    public void All_seventeen_shipped_configs_are_there()
    {
        Directory.GetFiles(Fixtures, "*.json").Should().HaveCount(17);
    }

    [Theory]
    [MemberData(nameof(ShippedConfigs))]
    public void Every_config_aimet_ships_loads_and_quantizes_a_model(string file)
    {
        string path = Path.Combine(Fixtures, file);
        var imported = AimetQuantsimConfig.Load(path);
        QuantizationConfig.Load(path).Should().BeEquivalentTo(imported.Config, "QuantizationConfig.Load tells AIMET files apart by content");
        imported.Ignored.Should().OnlyContain(line => line.Contains(':'), "each ignored key says why");

        var g = new Support.GraphBuilder(seed: 4);
        string x = g.Input("x", 1, 3, 6, 6);
        string r = g.Node("Relu", [g.Conv(x, 3, 4)], name: "conv_relu");
        g.Output(g.Node("Softmax", [g.Gemm(g.Node("Flatten", [g.Node("GlobalAveragePool", [r])]), 4, 3)], "y"));
        var result = OnnxQuantizer.Quantize(g.Build(), For("x", [1, 3, 6, 6], 4), imported.Config);
        result.Model.Nodes.Should().Contain(n => n.OpType == "QuantizeLinear", file);
    }

    [Fact]
    public void The_htp_v73_config_maps_onto_non_strict_per_channel_weights_and_fixed_softmax_and_sigmoid_ranges()
    {
        var imported = AimetQuantsimConfig.Load(Path.Combine(Fixtures, "htp_quantsim_config_v73.json"));
        var c = imported.Config;
        imported.HardwareVersion.Should().Be("V73");
        c.StrictSymmetricWeights.Should().BeFalse("strict_symmetric \"False\"");
        c.PerChannelWeights.Should().BeTrue();
        c.OpTypes["Softmax"].OutputRange.Should().Equal(0f, 1f);
        c.OpTypes["Sigmoid"].OutputRange.Should().Equal(0f, 1f);
        c.OpTypes["Gather"].QuantizeOutput.Should().BeFalse();
        c.OpTypes["Gemm"].PerChannelWeights.Should().BeFalse();
        c.OpTypes["MatMul"].PerChannelWeights.Should().BeFalse();
        imported.Ignored.Should().Contain(l => l.StartsWith("params.bias.is_quantized = False", StringComparison.Ordinal))
            .And.Contain(l => l.StartsWith("supergroups [Conv, Relu]", StringComparison.Ordinal))
            .And.Contain(l => l.StartsWith("defaults.hw_version = V73", StringComparison.Ordinal));

        var defaults = AimetQuantsimConfig.Load(Path.Combine(Fixtures, "default_config.json")).Config;
        defaults.PerChannelWeights.Should().BeFalse("AIMET's default config is per-tensor");
        defaults.StrictSymmetricWeights.Should().BeFalse();
        defaults.OpTypes["Gather"].QuantizeOutput.Should().BeFalse();
    }

    [Fact]
    public void A_fixed_output_range_from_the_config_becomes_the_encoding()
    {
        var g = new Support.GraphBuilder(seed: 5);
        string x = g.Input("x", 1, 8);
        g.Output(g.Node("Tanh", [g.Gemm(x, 8, 8)], "y"), 1, 8);
        var config = AimetQuantsimConfig.Import("""
            {"defaults": {"ops": {"is_output_quantized": "True"}, "params": {"is_quantized": "True", "is_symmetric": "True"}},
             "params": {}, "op_type": {"Tanh": {"encoding_constraints": {"min": -1.0, "max": 1.0}}, "Relu": {"encoding_constraints": {"min": 0.0}}},
             "supergroups": [], "model_input": {"is_input_quantized": "True"}, "model_output": {}}
            """);
        config.Ignored.Should().ContainSingle(l => l.StartsWith("op_type.Relu.encoding_constraints", StringComparison.Ordinal));
        var result = OnnxQuantizer.Quantize(g.Build(), For("x", [1, 8], 4, scale: 0.01f), config.Config);
        var tanh = result.Encodings.Single(e => e.Tensor.Name == "y").Encoding!;
        tanh.Scales[0].Should().BeApproximately(2f / 255, 1e-6f, "[−1, 1] on uint8 whatever the (tiny) calibration range");
    }

    [Theory]
    [InlineData("""{"defaults": {"ops": {}, "params": {}, "bogus": "True"}, "params": {}, "op_type": {}, "supergroups": [], "model_input": {}, "model_output": {}}""", "*'defaults.bogus'*")]
    [InlineData("""{"defaults": {"ops": {}, "params": {}, "strict_symmetric": "yes"}, "params": {}, "op_type": {}, "supergroups": [], "model_input": {}, "model_output": {}}""", "*'defaults.strict_symmetric' must be \"True\" or \"False\"*")]
    [InlineData("""{"defaults": {"ops": {}, "params": {}}, "params": {}, "op_type": {"Conv": {"is_output_quantised": "True"}}, "supergroups": [], "model_input": {}, "model_output": {}}""", "*'op_type.Conv.is_output_quantised'*")]
    [InlineData("""{"defaults": {"ops": {}, "params": {}}, "params": {}, "op_type": {}, "model_input": {}, "model_output": {}}""", "*'supergroups' is missing*")]
    [InlineData("""{"defaults": {"ops": {}, "params": {}}, "params": {}, "op_type": {"Softmax": {"encoding_constraints": {"min": "0"}}}, "supergroups": [], "model_input": {}, "model_output": {}}""", "*encoding_constraints.min' must be a number*")]
    public void Keys_outside_aimets_schema_and_wrong_values_are_refused_by_path(string json, string message)
    {
        FluentActions.Invoking(() => AimetQuantsimConfig.Import(json)).Should().Throw<ArgumentException>().WithMessage(message);
    }
}
