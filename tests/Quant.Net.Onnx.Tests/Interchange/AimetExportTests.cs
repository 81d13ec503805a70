using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;
using Quant.Net.Rounding;

namespace Quant.Net.Onnx.Tests.Interchange;

/// <summary>
/// AIMET's deployment route: the FP32 model with the final weights (BatchNorm folded, AdaRounded, bias-corrected) plus
/// encodings named for it; re-quantizing that model with those encodings gives back our QDQ model byte for byte.
/// </summary>
public sealed class AimetExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("quant-aimet-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static OnnxModel Model()
    {
        var g = new GraphBuilder(seed: 51);
        string x = g.Input("x", 0, 3, 8, 8);
        string h = g.Node("Relu", [g.BatchNorm(g.Conv(x, 3, 8), 8)]);
        h = g.Node("Relu", [g.Conv(h, 8, 8)]);
        g.Output(g.Gemm(g.Node("Flatten", [g.Node("GlobalAveragePool", [h])]), 8, 5, output: "y"), 0, 5);
        return g.Build();
    }

    [Theory]
    [InlineData(AimetEncodingsVersion.Version100, true)]
    [InlineData(AimetEncodingsVersion.Version061, false)]
    [InlineData(AimetEncodingsVersion.Version200, false)]
    public void The_fp32_model_and_encodings_give_back_the_quantized_model_with_adaround_and_bias_correction_kept(AimetEncodingsVersion version, bool strict)
    {
        var model = Model();
        var data = Samples.For("x", [1, 3, 8, 8], 32, seed: 8, scale: 0.5f, offset: 0.5f);
        var config = new QuantizationConfig
        {
            Weights = WeightType.Int4, PerChannelWeights = true, StrictSymmetricWeights = strict, OutlierSmoothing = false, BiasCorrection = true,
            AdaRound = new AdaRoundOptions { Iterations = 300, LearningRate = 1e-2f, Seed = 2 },
        };
        var result = OnnxQuantizer.Quantize(model, data, config);
        string modelPath = Path.Combine(_dir, "model.onnx"), encodingsPath = Path.Combine(_dir, "model.encodings");
        AimetExport.Save(result, modelPath, encodingsPath, version);

        var fp32 = OnnxModel.Load(modelPath);
        fp32.InitializerNames.Should().BeEquivalentTo(result.PreparedModel.InitializerNames, "the encodings' names are this model's (BatchNorm already folded)");
        fp32.Nodes.Should().NotContain(n => n.OpType == "BatchNormalization");
        var encodings = AimetEncodingsFile.Load(encodingsPath);
        var plain = config with { AdaRound = null, BiasCorrection = false };
        var again = OnnxQuantizer.Quantize(fp32, calibrationData: null, plain, AimetEncodingsFile.ForModel(encodings, fp32, plain));
        again.Model.ToBytes().Should().Equal(result.Model.ToBytes(), "rounding the exported weights to nearest gives AdaRound's codes and the corrected biases back");

        // The route matters: the prepared FP32 weights would round elsewhere.
        var naive = OnnxQuantizer.Quantize(result.PreparedModel, calibrationData: null, plain, AimetEncodingsFile.ForModel(encodings, result.PreparedModel, plain));
        naive.Model.ToBytes().Should().NotEqual(result.Model.ToBytes(), "without the exported weights, AdaRound and bias correction would be lost");
    }

    [Fact]
    public void Exported_weights_lie_on_the_grid_and_the_paths_must_differ()
    {
        var model = Model();
        var result = OnnxQuantizer.Quantize(model, Samples.For("x", [1, 3, 8, 8], 8), new QuantizationConfig { OutlierSmoothing = false });
        var fp32 = AimetExport.Fp32Model(result);
        foreach (var e in result.Encodings.Where(e => e.Tensor.Role == TensorRole.Weight))
        {
            var values = TensorData.ToFloats(fp32.Graph.Initializer.Single(t => t.Name == e.Tensor.Name));
            int channels = e.Encoding!.Count, perChannel = values.Length / channels;
            for (int i = 0; i < values.Length; i++)
            {
                double q = values[i] / (double)e.Encoding.Scales[i / perChannel];
                q.Should().BeApproximately(Math.Round(q), 1e-4, $"{e.Tensor.Name}[{i}] is a code times its scale");
            }
        }

        string path = Path.Combine(_dir, "same");
        FluentActions.Invoking(() => AimetExport.Save(result, path, path)).Should().Throw<ArgumentException>();
        File.Exists(path).Should().BeFalse();
    }
}
