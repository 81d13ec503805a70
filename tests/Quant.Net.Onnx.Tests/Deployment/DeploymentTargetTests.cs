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
    public static TheoryData<string> GemmPatterns => new(["conv", "conv-relu", "strided-conv-nobias", "grouped-conv", "gemm-relu", "gemm-notrans", "matmul"]);

    private static (OnnxModel Model, int[] Shape, bool Relu) Build(string pattern)
    {
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
}
