using FluentAssertions;
using Quant.Net.Kernels;
using Quant.Net.Onnx;
using Quant.Net.Rounding;
using Quant.Net.Techniques;
using Quant.Net.Training;

namespace Quant.Net.Onnx.Tests.Model;

public sealed class RecordTextTests
{
    [Fact]
    public void Records_print_their_collections_as_elements_and_counts_not_generated_type_names()
    {
        var node = new OnnxNode("conv1", "Conv", "", ["x", "w", "b"], ["y"]);
        node.ToString().Should().Be("OnnxNode { Name = conv1, OpType = Conv, Domain = , Inputs = [x, w, b], Outputs = [y] }");

        var many = new WeightOnlyFileResult([.. Enumerable.Range(0, 37).Select(i => $"n{i}")], 37, 1000, 250, 2000, 1250);
        many.ToString().Should().Contain("QuantizedNodes = [n0, n1, n2, n3, n4, n5, n6, n7, … (37)]").And.Contain("FloatWeightBytes = 1000");

        var encoding = new AimetTensorEncoding("w", true, 8, true, [0.5f, 0.25f], [0, 0], null);
        encoding.ToString().Should().Contain("Scales = [0.5, 0.25]").And.Contain("BlockSize = null");

        var config = new QuantizationConfig();
        config.ToString().Should().StartWith("QuantizationConfig { ").And.NotContain("<>").And.NotContain("System.Collections");

        var score = ModelScore.Top1Accuracy([InputTensor.FromFloats([1f], 1)], [0]);
        score.ToString().Should().Contain("Name = top-1 accuracy").And.Contain("Evaluate = (function)").And.Contain("IsAccuracy = True");

        foreach (var text in new[] { node.ToString(), many.ToString(), encoding.ToString(), config.ToString(), score.ToString() })
        {
            text.Should().NotContain("z__ReadOnly").And.NotContain("System.Collections.Generic");
        }
    }

    [Fact]
    public void Core_results_and_quantizer_parameters_print_what_they_hold()
    {
        new AdaRoundResult([1, 2, 3], [0.5f, 1f, 1.5f], 0.002, 0.001, 1).ToString()
            .Should().Be("AdaRoundResult { 3 codes, reconstruction MSE 0.002 (nearest) → 0.001, 1 changed from nearest }");
        var search = new MixedPrecisionSearchResult(PrecisionCandidate.W8A8, [], [], new Dictionary<string, PrecisionCandidate> { ["conv1"] = PrecisionCandidate.W8A8 });
        search.ToString().Should().Contain("plan: conv1 W8A8");
        InputTensor.FromFloats(new float[6], 1, 2, 3).ToString().Should().Be("Float[1, 2, 3]");
        OutputClamp.None.Should().Be(default(OutputClamp)).And.Be(new OutputClamp(float.NegativeInfinity, float.PositiveInfinity));
        OutputClamp.None.Min.Should().Be(float.NegativeInfinity);
        OutputClamp.Relu.Max.Should().Be(float.PositiveInfinity);

        var q = new FakeQuantizer(new QuantScheme(8, false, false));
        q.Forward([0f, 1f, 2f], [3], new float[3]);
        q.StartLearning();
        q.Parameters.ToString().Should().StartWith("scale [").And.Contain("], zero point [");
        q.Parameters.Scale.Should().BeSameAs(q.Parameters[0], "named and indexed access are the same live array");
    }

    [Fact]
    public void Input_tensors_are_read_typed_and_a_wrong_type_is_named()
    {
        var ids = InputTensor.FromInt64([1, 2, 3], 1, 3);
        ids.ElementType.Should().Be(InputElementType.Int64);
        ids.AsSpan<long>().ToArray().Should().Equal(1, 2, 3);
        ids.Length.Should().Be(3);
        FluentActions.Invoking(() => ids.AsSpan<float>().Length).Should().Throw<InvalidOperationException>().WithMessage("*holds Int64 values, not Single*");
    }
}
