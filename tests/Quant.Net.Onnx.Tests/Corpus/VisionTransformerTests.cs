using FluentAssertions;
using Quant.Net.Cli;

namespace Quant.Net.Onnx.Tests.Corpus;

/// <summary>
/// A ViT trained here (tools/train_fashion_vit.py, shipped in Corpus/Data): pre-LayerNorm blocks as PyTorch exports
/// them (LayerNormalization ops, Q·Kᵀ and P·V MatMuls of two activations, Softmax, Erf GELU), quantized with default
/// settings and measured on the Fashion-MNIST test images the tool ships.
/// </summary>
public sealed class VisionTransformerTests
{
    private static OnnxModel Model() => OnnxModel.Load(Path.Combine(CorpusInputs.DataDirectory, "fashion_vit.onnx"));

    private static InMemoryCalibrationData Calibration() => InMemoryCalibrationData.ForSingleInput("image", DefaultModel.CalibrationImages());

    [Fact]
    public void Default_w8a8_keeps_top1_accuracy_within_half_a_point_of_fp32()
    {
        var model = Model();
        model.Nodes.Should().Contain(n => n.OpType == "LayerNormalization").And.Contain(n => n.OpType == "Erf").And.Contain(n => n.OpType == "Softmax");
        var result = OnnxQuantizer.Quantize(model, Calibration());
        var (images, labels) = DefaultModel.TestSet();
        var truth = labels.Select(l => (int)l).ToList();
        double fp32 = ModelComparer.Top1Accuracy(model, images, truth), int8 = ModelComparer.Top1Accuracy(result.Model, images, truth);
        TestContext.Current.SendDiagnosticMessage($"ViT top-1: FP32 {fp32:P1}, W8A8 {int8:P1} ({images.Count} images)");
        int8.Should().BeGreaterThanOrEqualTo(fp32 - 0.005, "the transformers issue's ViT target: at most half a point lower");

        // Both activation inputs of Q·Kᵀ and P·V are quantized: every MatMul reads dequantized codes on both sides.
        var written = result.Model.Nodes;
        var dequantized = written.Where(n => n.OpType == "DequantizeLinear").Select(n => n.Outputs[0]).ToHashSet();
        var initializers = result.Model.InitializerNames.ToHashSet();
        written.Count(n => n.OpType == "MatMul" && n.Inputs.All(dequantized.Contains)
            && n.Inputs.All(i => written.Single(d => d.Outputs[0] == i).Inputs[0] is var codes && !initializers.Contains(codes))).Should().Be(8, "4 blocks × (Q·Kᵀ, P·V)");
    }

    [Fact]
    public void Outlier_smoothing_of_a_pre_layernorm_block_folds_into_gamma_and_beta()
    {
        var model = Model();
        var result = OnnxQuantizer.Quantize(model, Calibration());
        var prepared = result.PreparedModel;
        var lnOutputs = result.Preparation.SmoothedTensors.Where(t => prepared.Nodes.Any(n => n.OpType == "LayerNormalization" && n.Outputs[0] == t)).ToList();
        lnOutputs.Should().NotBeEmpty("the search smooths some LayerNorm outputs of this model");
        foreach (var t in lnOutputs)
        {
            prepared.Nodes.Where(n => n.Inputs.Contains(t)).Select(n => n.OpType).Should().OnlyContain(o => o == "MatMul" || o == "Shape", $"'{t}' is divided by s inside its LayerNorm's γ and β, with no Mul");
        }

        // And the prepared (smoothed) model computes what the original does.
        using var a = new ModelRunner(model);
        using var b = new ModelRunner(prepared);
        foreach (var image in DefaultModel.TestSet().Images.Take(16))
        {
            var sample = new Dictionary<string, InputTensor> { ["image"] = image };
            var expected = a.Run(sample)["logits"].Data;
            var actual = b.Run(sample)["logits"].Data;
            for (int i = 0; i < expected.Length; i++)
            {
                actual[i].Should().BeApproximately(expected[i], 1e-3f * Math.Max(1f, Math.Abs(expected[i])));
            }
        }
    }
}
