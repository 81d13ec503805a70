using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;
using static Quant.Net.Onnx.Tests.Support.GraphBuilder;
using DataType = Quant.Net.Onnx.Protobuf.TensorProto.Types.DataType;

namespace Quant.Net.Onnx.Tests.Onnx;

/// <summary>The additive attention mask of a BERT export stays out of the quantized ranges.</summary>
public sealed class AttentionMaskTests
{
    [Fact]
    public void The_mask_path_and_the_masked_scores_stay_float_and_softmax_gets_the_fixed_encoding()
    {
        const int tokens = 6, width = 8;
        var g = new GraphBuilder(13, seed: 6);
        string x = g.Input("x", 1, tokens, width);
        g.Graph.Input.Add(ValueInfo("attention_mask", DataType.Int64, [1, tokens]));
        // (1 − mask) · −10000, broadcast over the query axis: exactly what BERT exports compute.
        string mask = g.Node("Unsqueeze", ["attention_mask", g.Initializer("axis1", [1f], 1)]);
        g.Graph.Initializer.RemoveAt(g.Graph.Initializer.Count - 1);
        g.Graph.Initializer.Add(TensorData.Create<long>("axis1", [1L], [1]));
        string additive = g.Node("Mul", [g.Node("Sub", [g.Initializer("one", [1f], []), g.Node("Cast", [mask], null, Int("to", (long)DataType.Float))]), g.Initializer("big", [-10000f], [])]);
        string keys = g.Node("Transpose", [g.Node("MatMul", [x, g.Random("wk", 0.5f, width, width)])], null, Ints("perm", 0, 2, 1));
        string scores = g.Node("MatMul", [g.Node("MatMul", [x, g.Random("wq", 0.5f, width, width)]), keys]);
        string masked = g.Node("Add", [scores, additive]);
        g.Output(g.Node("Softmax", [masked], "y", Int("axis", -1)), 1, tokens, tokens);
        var model = g.Build();
        IReadOnlyDictionary<string, InputTensor> Sample(int seed, int valid) => new Dictionary<string, InputTensor>(Samples.For("x", [1, tokens, width], 1, seed: seed, scale: 1.5f).GetSamples().First())
        {
            ["attention_mask"] = InputTensor.FromInt64([.. Enumerable.Range(0, tokens).Select(i => i < valid ? 1L : 0L)], 1, tokens),
        };
        var calibration = new InMemoryCalibrationData(Enumerable.Range(0, 12).Select(i => Sample(i, 3 + (i % 4))));

        var result = OnnxQuantizer.Quantize(model, calibration);
        var planned = result.Encodings.Select(e => e.Tensor.Name).ToHashSet();
        planned.Should().NotContain([additive, masked], "neither the −10000 mask nor the masked scores get a quantizer");
        var softmax = result.Encodings.Single(e => e.Tensor.Name == "y").Encoding!;
        softmax.Scales[0].Should().Be(1f / 255);
        planned.Should().NotContain(scores, "Q·Kᵀ's result is only read in float (the mask is added to it): its integer MatMul writes float");
        var keysIn = result.Model.Nodes.Single(n => n.OpType == "MatMul" && n.Outputs[0] == scores).Inputs;
        keysIn.Should().OnlyContain(i => result.Model.Nodes.Any(n => n.OpType == "DequantizeLinear" && n.Outputs[0] == i), "both activation inputs of Q·Kᵀ are quantized");
        OnnxQuantizer.Quantize(model, calibration, new QuantizationConfig { FullInteger = true }).Encodings.Should()
            .Contain(e => e.Tensor.Name == scores, "an all-integer graph quantizes Q·Kᵀ's result too");

        using var fp32 = new ModelRunner(model);
        using var int8 = new ModelRunner(result.Model);
        foreach (int valid in new[] { 2, 4, 6 })
        {
            var sample = Sample(100 + valid, valid);
            var expected = fp32.Run(sample)["y"].Data;
            var actual = int8.Run(sample)["y"].Data;
            for (int i = 0; i < actual.Length; i++)
            {
                if (i % tokens >= valid)
                {
                    actual[i].Should().Be(0f, "masked keys get no attention");
                }
                else
                {
                    actual[i].Should().BeApproximately(expected[i], 0.06f);
                }
            }
        }
    }
}
