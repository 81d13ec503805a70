using FluentAssertions;
using Quant.Net.Onnx.Tests.Onnx;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Deployment;

/// <summary>
/// Targets and int8 arithmetic: the x86 AVX2 simulation against a loop-by-loop oracle, pair-safe encodings that never
/// saturate, and this host's ONNX Runtime against the simulation of its own path (rerun in CI under QEMU as an AVX2 CPU).
/// </summary>
public sealed class DeploymentTargetTests
{
    // conv-16x16: shapes ONNX Runtime runs on its ConvSym kernels (input channels % 4 == 0, output channels >= 16, % 8 == 0).
    public static TheoryData<string> GemmPatterns => new(["conv", "conv-relu", "strided-conv-nobias", "grouped-conv", "conv-16x16", "gemm-relu", "gemm-notrans", "matmul"]);

    private static (OnnxModel Model, int[] Shape, bool Relu) Build(string pattern)
    {
        if (pattern == "conv-16x16")
        {
            var b = new GraphBuilder(seed: 9);
            string input = b.Input("x", 1, 16, 6, 6);
            b.Output(b.Node("Relu", [b.Conv(input, 16, 16)], "y"));
            return (b.Build(), [1, 16, 6, 6], true);
        }

        if (pattern != "grouped-conv")
        {
            var (model, shape) = QdqPatternTests.Build(pattern);
            return (model, shape, pattern.EndsWith("relu", StringComparison.Ordinal));
        }

        var g = new GraphBuilder(seed: 5);
        string x = g.Input("x", 1, 6, 7, 7);
        g.Output(g.Conv(x, 6, 9, group: 3, output: "y"));
        return (g.Build(), [1, 6, 7, 7], false);
    }

    private static QuantizationResult Quantize(string pattern, DeploymentTarget target, out int[] shape, out bool relu)
    {
        var (model, s, r) = Build(pattern);
        (shape, relu) = (s, r);
        return OnnxQuantizer.Quantize(model, Samples.For("x", shape, 16, seed: 3, scale: 2f), new QuantizationConfig { Target = target });
    }

    private static void ShouldAgree(float[] actual, float[] expected, float step, string what)
    {
        actual.Length.Should().Be(expected.Length, what);
        for (int i = 0; i < actual.Length; i++)
        {
            Math.Abs(actual[i] - expected[i]).Should().BeLessThanOrEqualTo(step * 1.001f, $"{what}: element {i} ({actual[i]} vs {expected[i]}, step {step})");
        }
    }

    [Theory]
    [MemberData(nameof(GemmPatterns))]
    public void The_avx2_simulation_matches_a_loop_by_loop_model_of_saturating_pair_sums(string pattern)
    {
        var result = Quantize(pattern, DeploymentTarget.X86Vnni, out var shape, out bool relu);
        float step = Simulation.OutputStep(result);
        using var simulated = new ModelRunner(result.Model, 1, arithmetic: Int8Arithmetic.X86Avx2Saturating);
        int saturatedElements = 0;
        foreach (var sample in Samples.For("x", shape, 4, seed: 11, scale: 2f).GetSamples())
        {
            var expected = PairSumOracle.Run(result, sample["x"], saturate: true, relu);
            var exact = PairSumOracle.Run(result, sample["x"], saturate: false, relu);
            saturatedElements += expected.Zip(exact).Count(p => Math.Abs(p.First - p.Second) > step * 1.5f);
            ShouldAgree(simulated.Run(sample)["y"].Data, expected, step, pattern);
        }

        SaturatingPairSimulation.SaturableWeights(result.Model).Should().NotBeEmpty("full-range int8 weights can saturate a pair");
        if (pattern is not ("gemm-notrans" or "matmul"))
        {
            saturatedElements.Should().BePositive("the test must exercise saturation");
        }
    }

    [Theory]
    [MemberData(nameof(GemmPatterns))]
    public void Portable_encodings_give_the_same_result_on_saturating_and_exact_arithmetic(string pattern)
    {
        var result = Quantize(pattern, DeploymentTarget.Portable, out var shape, out bool relu);
        SaturatingPairSimulation.SaturableWeights(result.Model).Should().BeEmpty();
        float step = Simulation.OutputStep(result);
        using var simulated = new ModelRunner(result.Model, 1, arithmetic: Int8Arithmetic.X86Avx2Saturating);
        using var exact = new ModelRunner(result.Model, 1, arithmetic: Int8Arithmetic.Exact);
        foreach (var sample in Samples.For("x", shape, 4, seed: 11, scale: 2f).GetSamples())
        {
            PairSumOracle.Run(result, sample["x"], saturate: true, relu).Should().Equal(PairSumOracle.Run(result, sample["x"], saturate: false, relu));
            ShouldAgree(simulated.Run(sample)["y"].Data, exact.Run(sample)["y"].Data, step, pattern);
            ShouldAgree(exact.Run(sample)["y"].Data, Simulation.Run(result, "x", sample["x"]), step, pattern);
        }
    }

    [Theory]
    [MemberData(nameof(GemmPatterns))]
    [Trait("Category", "HostArithmetic")]
    public void This_hosts_onnx_runtime_computes_what_the_model_of_its_int8_path_says(string pattern)
    {
        // Full-range weights: on a saturating host (AVX2 without VNNI, or QEMU emulating one) ONNX Runtime must match the
        // saturating model; on VNNI/ARM hosts the exact one. Exact mode must be exact everywhere.
        var result = Quantize(pattern, DeploymentTarget.X86Vnni, out var shape, out bool relu);
        float step = Simulation.OutputStep(result);
        using var host = new ModelRunner(result.Model, 1);
        using var exact = new ModelRunner(result.Model, 1, arithmetic: Int8Arithmetic.Exact);
        foreach (var sample in Samples.For("x", shape, 4, seed: 11, scale: 2f).GetSamples())
        {
            ShouldAgree(host.Run(sample)["y"].Data, PairSumOracle.Run(result, sample["x"], saturate: Int8Host.Saturates, relu), step, $"{pattern} on {Int8Host.Description}");
            ShouldAgree(exact.Run(sample)["y"].Data, PairSumOracle.Run(result, sample["x"], saturate: false, relu), step, $"{pattern} exact");
        }
    }

    [Fact]
    public void Targets_have_stable_names_in_json_and_on_the_command_line()
    {
        DeploymentTargets.Names.Should().Equal("portable", "x86-avx2", "x86-vnni", "arm64", "qnn-htp");
        QuantizationConfig.FromJson("{\"target\": \"qnn-htp\"}").Target.Should().Be(DeploymentTarget.QnnHtp);
        new QuantizationConfig().Target.Should().Be(DeploymentTarget.Portable);
        new QuantizationConfig().ToJson().Should().Contain("\"target\": \"portable\"");
        QuantizationConfig.FromJson("{\"target\": \"x86-avx2\"}").Target.Should().Be(DeploymentTarget.X86Avx2);
        QuantizationConfig.FromJson(new QuantizationConfig { Target = DeploymentTarget.Arm64 }.ToJson()).Target.Should().Be(DeploymentTarget.Arm64);
        FluentActions.Invoking(() => QuantizationConfig.FromJson("{\"target\": \"avx\"}")).Should().Throw<ArgumentException>().WithMessage("*target*");
        FluentActions.Invoking(() => DeploymentTargets.Parse("avx")).Should().Throw<ArgumentException>().WithMessage("*portable, x86-avx2, x86-vnni, arm64*");
        DeploymentTargets.Parse("X86-VNNI").Should().Be(DeploymentTarget.X86Vnni);

        var (code, output) = CliRunner.Run("quantize", "--target", "avx512");
        code.Should().Be(2);
        output.Trim().Split('\n').Should().ContainSingle().Which.Should().Be("error: --target must be one of portable, x86-avx2, x86-vnni, arm64, qnn-htp, not 'avx512'.");
    }

    [Fact]
    [Trait("Category", "HostArithmetic")]
    public void The_host_is_described_and_matches_a_target()
    {
        Int8Host.Description.Should().NotBeNullOrWhiteSpace();
        if (Environment.GetEnvironmentVariable("QUANTNET_EXPECT_INT8_SATURATES") is { Length: > 0 } expected)
        {
            Int8Host.Saturates.Should().Be(expected == "1", $"CI expects this CPU's ONNX Runtime int8 path to {(expected == "1" ? "" : "not ")}saturate ({Int8Host.Description})");
        }

        if (Int8Host.Saturates)
        {
            Int8Host.Target.Should().Be(DeploymentTarget.X86Avx2);
            Int8Host.Description.Should().Contain("saturate");
        }
        else
        {
            Int8Host.Target.Should().BeOneOf(DeploymentTarget.X86Vnni, DeploymentTarget.Arm64, DeploymentTarget.Portable);
            Int8Host.Description.Should().Contain("exact");
        }
    }

    [Fact]
    public void The_comparison_names_the_arithmetic_it_measured_and_warns_about_saturable_weights_on_a_saturating_host()
    {
        var vnni = Quantize("conv-relu", DeploymentTarget.X86Vnni, out var shape, out _);
        var portable = Quantize("conv-relu", DeploymentTarget.Portable, out _, out _);
        var samples = Samples.For("x", shape, 4, seed: 11, scale: 2f);
        var (model, _, _) = Build("conv-relu");
        var a = ModelComparer.Compare(model, vnni, samples, latencyRuns: 0, perLayer: false);
        var b = ModelComparer.Compare(model, portable, samples, latencyRuns: 0, perLayer: false);

        a.HostArithmetic.Should().Be(Int8Host.Description);
        (a.Target, b.Target).Should().Be((DeploymentTarget.X86Vnni, DeploymentTarget.Portable));
        a.SaturableWeights.Should().NotBeEmpty();
        b.SaturableWeights.Should().BeEmpty();
        b.Warnings.Should().BeEmpty();
        b.ExactOutputs.Should().BeNull("portable encodings are exact on every host");
        if (Int8Host.Saturates)
        {
            a.ExactOutputs.Should().NotBeNull();
            a.Warnings.Should().ContainSingle().Which.Should().Contain("x86-vnni").And.Contain("--target portable");
            a.ExactOutputs![0].SqnrDecibels.Should().BeGreaterThan(a.Outputs[0].SqnrDecibels);
        }
        else
        {
            a.ExactOutputs.Should().BeNull();
            a.Warnings.Should().BeEmpty("the host computes the x86-vnni target's arithmetic");
        }
    }

    [Fact]
    [Trait("Category", "HostArithmetic")]
    public void Dynamic_models_on_the_portable_target_do_not_saturate_and_the_simulation_covers_MatMulInteger()
    {
        var (model, shape) = QdqPatternTests.Build("gemm-relu");
        var portable = OnnxQuantizer.Quantize(model, null, new QuantizationConfig { Mode = QuantizationMode.Dynamic });
        var vnni = OnnxQuantizer.Quantize(model, null, new QuantizationConfig { Mode = QuantizationMode.Dynamic, Target = DeploymentTarget.X86Vnni });
        SaturatingPairSimulation.SaturableWeights(portable.Model).Should().BeEmpty();
        SaturatingPairSimulation.SaturableWeights(vnni.Model).Should().NotBeEmpty();
        using var exact = new ModelRunner(portable.Model, 1, arithmetic: Int8Arithmetic.Exact);
        using var simulated = new ModelRunner(portable.Model, 1, arithmetic: Int8Arithmetic.X86Avx2Saturating);
        SaturatingPairSimulation.Rewrite(portable.Model).Nodes.Should().NotContain(n => n.OpType == "MatMulInteger");
        foreach (var sample in Samples.For("x", shape, 4, seed: 5, scale: 2f).GetSamples())
        {
            var (s, e) = (simulated.Run(sample)["y"].Data, exact.Run(sample)["y"].Data);
            for (int i = 0; i < e.Length; i++)
            {
                s[i].Should().BeApproximately(e[i], 1e-5f * Math.Max(1f, Math.Abs(e[i])));
            }
        }

        // Full-range weights: ONNX Runtime's DynamicQuantizeMatMul here computes what the model of this host's path says.
        using var host = new ModelRunner(vnni.Model, 1);
        using var expected = new ModelRunner(vnni.Model, 1, arithmetic: Int8Host.Saturates ? Int8Arithmetic.X86Avx2Saturating : Int8Arithmetic.Exact);
        using var exactVnni = new ModelRunner(vnni.Model, 1, arithmetic: Int8Arithmetic.Exact);
        using var simulatedVnni = new ModelRunner(vnni.Model, 1, arithmetic: Int8Arithmetic.X86Avx2Saturating);
        double saturation = 0;
        foreach (var sample in Samples.For("x", shape, 4, seed: 5, scale: 2f, offset: 1.5f).GetSamples())
        {
            var (h, e) = (host.Run(sample)["y"].Data, expected.Run(sample)["y"].Data);
            for (int i = 0; i < e.Length; i++)
            {
                h[i].Should().BeApproximately(e[i], 1e-4f * Math.Max(1f, Math.Abs(e[i])), $"element {i} on {Int8Host.Description}");
            }

            saturation += exactVnni.Run(sample)["y"].Data.Zip(simulatedVnni.Run(sample)["y"].Data).Sum(p => Math.Abs(p.First - p.Second));
        }

        saturation.Should().BePositive("inputs of one sign and full-range weights saturate some pairs");
    }
}
