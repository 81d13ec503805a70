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
        c.QuantizeBias.Should().BeFalse("params.bias.is_quantized \"False\"");
        imported.Ignored.Should().Contain(l => l.StartsWith("supergroups [Conv, Relu]", StringComparison.Ordinal))
            .And.Contain(l => l.StartsWith("defaults.hw_version = V73", StringComparison.Ordinal));

        var defaults = AimetQuantsimConfig.Load(Path.Combine(Fixtures, "default_config.json")).Config;
        defaults.PerChannelWeights.Should().BeFalse("AIMET's default config is per-tensor");
        defaults.StrictSymmetricWeights.Should().BeFalse();
        defaults.OpTypes["Gather"].QuantizeOutput.Should().BeFalse();
    }

    [Fact]
    public void The_qnn_htp_target_preset_is_what_aimets_htp_config_says()
    {
        var preset = QuantizationConfig.ForTarget(DeploymentTarget.QnnHtp);
        var imported = AimetQuantsimConfig.Load(Path.Combine(Fixtures, "htp_quantsim_config_v73.json"), new QuantizationConfig { Target = DeploymentTarget.QnnHtp });
        preset.Should().BeEquivalentTo(imported.Config, "the built-in preset is AIMET's HTP v73 config, mapped");
        preset.UsesStrictSymmetricWeights.Should().BeFalse();
        preset.QuantizeBias.Should().BeFalse("params.bias.is_quantized \"False\": QNN quantizes biases itself");
        preset.QuantizeAllOperators.Should().BeTrue("AIMET quantizes every op's output unless told otherwise");
        preset.FullInteger.Should().BeTrue();
        QuantizationConfig.ForTarget(DeploymentTarget.X86Vnni).Should().BeEquivalentTo(new QuantizationConfig { Target = DeploymentTarget.X86Vnni });
        new QuantizationConfig { Target = DeploymentTarget.QnnHtp }.UsesStrictSymmetricWeights.Should().BeFalse("strictness follows the target unless set");
        new QuantizationConfig { Target = DeploymentTarget.QnnHtp, StrictSymmetricWeights = true }.UsesStrictSymmetricWeights.Should().BeTrue();
        new QuantizationConfig().UsesStrictSymmetricWeights.Should().BeTrue("ONNX Runtime targets default to the narrow range");
        QuantizationConfig.FromJson(preset.ToJson()).Should().BeEquivalentTo(preset, "the preset saves as a config file");
    }

    [Fact]
    public void Where_a_file_is_silent_aimets_defaults_apply()
    {
        var imported = AimetQuantsimConfig.Import("""
            {"defaults": {"ops": {}, "params": {}}, "params": {}, "op_type": {}, "supergroups": [], "model_input": {}, "model_output": {}}
            """).Config;
        imported.PerChannelWeights.Should().BeFalse("AIMET's weights are per tensor unless per_channel_quantization says otherwise");
        imported.UsesStrictSymmetricWeights.Should().BeFalse("AIMET's symmetric weights are non-strict unless strict_symmetric says otherwise");
        imported.QuantizeAllOperators.Should().BeFalse("outputs are quantized everywhere only when defaults.ops.is_output_quantized says so");

        var biasFromDefaults = AimetQuantsimConfig.Import("""
            {"defaults": {"ops": {"is_output_quantized": "True"}, "params": {"is_quantized": "False"}}, "params": {"weight": {"is_quantized": "True"}}, "op_type": {}, "supergroups": [], "model_input": {}, "model_output": {}}
            """).Config;
        biasFromDefaults.QuantizeBias.Should().BeFalse("a bias follows defaults.params when params.bias is not given");
        biasFromDefaults.QuantizeAllOperators.Should().BeTrue();
        AimetQuantsimConfig.Import("""
            {"defaults": {"ops": {}, "params": {"is_quantized": "False"}}, "params": {"bias": {"is_quantized": "True"}}, "op_type": {}, "supergroups": [], "model_input": {}, "model_output": {}}
            """).Config.QuantizeBias.Should().BeTrue("params.bias wins over defaults.params");
    }

    [Fact]
    public void The_qnn_htp_target_quantizes_with_non_strict_weights_float_biases_and_no_pair_safe_scaling()
    {
        var g = new Support.GraphBuilder(seed: 6);
        string x = g.Input("x", 1, 3, 6, 6);
        g.Output(g.Node("Softmax", [g.Gemm(g.Node("Flatten", [g.Node("GlobalAveragePool", [g.Node("Relu", [g.Conv(x, 3, 4)])])]), 4, 3)], "y"));
        var model = g.Build();
        var htp = OnnxQuantizer.Quantize(model, For("x", [1, 3, 6, 6], 4), QuantizationConfig.ForTarget(DeploymentTarget.QnnHtp) with { OutlierSmoothing = false });
        var weights = htp.Encodings.Where(e => e.Tensor.Role == TensorRole.Weight).ToList();
        weights.Should().NotBeEmpty().And.OnlyContain(e => e.Encoding!.Scheme.QMin == -128, "non-strict symmetric int8 weights");
        weights.Single(e => e.Encoding!.Count == 4).Encoding!.Scheme.Granularity.Kind.Should().Be(QuantGranularityKind.PerChannel, "Conv is per channel");
        weights.Should().ContainSingle(e => e.Encoding!.Count == 1, "Gemm is per tensor on HTP");
        htp.Encodings.Should().NotContain(e => e.Tensor.Role == TensorRole.Bias, "biases stay float for QNN to quantize");
        htp.Encodings.Single(e => e.Tensor.Name == "y").Encoding!.Scales[0].Should().BeApproximately(1f / 255, 1e-7f, "Softmax on [0, 1]");
        foreach (var w in weights)
        {
            float max = w.Encoding!.Scales.ToArray().Max();
            var values = TensorData.ToFloats(htp.PreparedModel.Graph.Initializer.Single(i => i.Name == w.Tensor.Name));
            (values.Max(v => Math.Abs(v)) / max).Should().BeApproximately(127f, 0.01f, $"{w.Tensor.Name}: scale max/127 as AIMET's symmetric grid, not pair-safe scaled (exact int32 accumulation)");
        }

        ModelComparer.Compare(model, htp, For("x", [1, 3, 6, 6], 4)).Outputs.Single().CosineSimilarity
            .Should().BeGreaterThan(0.99, "the float-bias QDQ model runs in ONNX Runtime and tracks FP32");
        var portable = OnnxQuantizer.Quantize(model, For("x", [1, 3, 6, 6], 4), new QuantizationConfig { OutlierSmoothing = false });
        portable.Encodings.Single(e => e.Tensor.Role == TensorRole.Weight && e.Encoding!.Count == 4).Encoding!.Scales.ToArray()
            .Should().NotEqual(weights.Single(e => e.Encoding!.Count == 4).Encoding!.Scales.ToArray(), "the portable target's pair-safe scales differ (the check above has teeth)");
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
