using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;
using Quant.Net.Training;

namespace Quant.Net.Onnx.Tests.Onnx;

public sealed class QatExportTests
{
    private static readonly Random Rng = new(11);

    private static float[] Values(int n, float scale) => [.. Enumerable.Range(0, n).Select(_ => (float)((Rng.NextDouble() * 2) - 1) * scale)];

    private static (OnnxModel Model, float[] W0, float[] B0, float[] W1) Mlp()
    {
        float[] w0 = Values(32 * 16, 0.4f), b0 = Values(32, 0.1f), w1 = Values(4 * 32, 0.4f);
        var model = new OnnxGraphBuilder(21, "qat")
            .AddInput("x", null, 16).AddOutput("y", null, 4)
            .AddInitializer("w0", w0, 32, 16).AddInitializer("b0", b0, 32).AddInitializer("w1", w1, 4, 32)
            .AddNode("Gemm", ["x", "w0", "b0"], ["h"], new Dictionary<string, object> { ["transB"] = 1L }, "fc0")
            .AddNode("Relu", ["h"], ["r"], name: "relu0")
            .AddNode("Gemm", ["r", "w1"], ["y"], new Dictionary<string, object> { ["transB"] = 1L }, "fc1")
            .Build();
        return (model, w0, b0, w1);
    }

    /// <summary>Quantizers as a QAT loop would leave them: observed, then learning with moved scales, then frozen.</summary>
    private static Dictionary<string, FakeQuantizer> Trained(float[] w0, float[] w1, float[] x, float[] r, int weightBits = 4)
    {
        var weightScheme = new QuantScheme(weightBits, true, true, false, QuantGranularity.PerChannel(0));
        var q = new Dictionary<string, FakeQuantizer>
        {
            ["w0"] = new(weightScheme, RangeLearning.Lsq, new Quant.Net.Observers.MinMaxObserver(channelAxis: 0)),
            ["w1"] = new(new QuantScheme(4, true, true, false, QuantGranularity.PerChannel(0)), RangeLearning.Lsq, new Quant.Net.Observers.MinMaxObserver(channelAxis: 0)),
            ["x"] = new(new QuantScheme(8, false, false), RangeLearning.Lsq),
            ["r"] = new(new QuantScheme(8, false, false), RangeLearning.Lsq),
        };
        q["w0"].Forward(w0, [32, 16], new float[w0.Length]);
        q["w1"].Forward(w1, [4, 32], new float[w1.Length]);
        q["x"].Forward(x, [x.Length / 16, 16], new float[x.Length]);
        q["r"].Forward(r, [r.Length / 32, 32], new float[r.Length]);
        foreach (var quantizer in q.Values)
        {
            quantizer.StartLearning();
            var (scales, offsets) = (quantizer.Parameters[0], quantizer.Parameters[1]);
            for (int i = 0; i < scales.Length; i++)
            {
                scales[i] *= 0.8f;   // what learning would do: clip harder than min/max
                offsets[i] += 3;
            }

            quantizer.Freeze();
        }

        return q;
    }

    private static float[] Forward(float[] x, float[] w, float[]? b, int rows, int inFeatures, int outFeatures, bool relu)
    {
        var y = new float[rows * outFeatures];
        for (int i = 0; i < rows; i++)
        {
            for (int o = 0; o < outFeatures; o++)
            {
                float s = b?[o] ?? 0f;
                for (int k = 0; k < inFeatures; k++)
                {
                    s += x[(i * inFeatures) + k] * w[(o * inFeatures) + k];
                }

                y[(i * outFeatures) + o] = relu ? Math.Max(0f, s) : s;
            }
        }

        return y;
    }

    [Fact]
    public void A_qat_network_deploys_with_exactly_its_learned_encodings_and_runs_as_trained()
    {
        var (model, w0, b0, w1) = Mlp();
        var x = Values(8 * 16, 1f);
        var r = Forward(x, w0, b0, 8, 16, 32, relu: true);
        var quantizers = Trained(w0, w1, x, r);
        var before = model.ToBytes();

        var deployed = QatExport.Deploy(model, quantizers);

        model.ToBytes().Should().Equal(before, "the input model is never modified");
        deployed.Config.Weights.Should().Be(WeightType.Int4);
        deployed.Config.Activations.Should().Be(ActivationType.UInt8);
        deployed.Config.QuantizeModelOutputs.Should().BeFalse("no quantizer names the output");
        foreach (var (name, quantizer) in quantizers)
        {
            var expected = quantizer.ToEncoding();
            var actual = deployed.Encodings.Single(e => e.Tensor.Name == name).Encoding!;
            actual.Scales.ToArray().Should().Equal(expected.Scales.ToArray(), name);
            actual.ZeroPoints.ToArray().Should().Equal(expected.ZeroPoints.ToArray(), name);
        }

        // The deployed model computes what the trained network computes with its fake quantizers (the bias is int32 in
        // the model: within a few of its steps).
        var sample = x.AsSpan(0, 16).ToArray();
        float[] Fq(string name, float[] v, int[] shape)
        {
            var y = new float[v.Length];
            quantizers[name].Forward(v, shape, y);
            return y;
        }

        var hidden = Forward(Fq("x", sample, [1, 16]), Fq("w0", w0, [32, 16]), b0, 1, 16, 32, relu: true);
        var expectedY = Forward(Fq("r", hidden, [1, 32]), Fq("w1", w1, [4, 32]), null, 1, 32, 4, relu: false);
        using var runner = new ModelRunner(deployed.Model);
        var actualY = runner.Run(new Dictionary<string, InputTensor> { ["x"] = InputTensor.FromFloats(sample, 1, 16) })["y"].Data;
        for (int i = 0; i < 4; i++)
        {
            actualY[i].Should().BeApproximately(expectedY[i], 1e-3f, $"output {i}");
        }
    }

    [Fact]
    public void Quantizers_that_name_nothing_disagree_or_go_unused_are_refused_by_name()
    {
        var (model, w0, b0, w1) = Mlp();
        var x = Values(8 * 16, 1f);
        var r = Forward(x, w0, b0, 8, 16, 32, relu: true);

        var typo = Trained(w0, w1, x, r);
        typo["w9"] = typo["w0"];
        FluentActions.Invoking(() => QatExport.Deploy(model, typo)).Should().Throw<ArgumentException>().WithMessage("*'w9'*");

        var mixed = Trained(w0, w1, x, r, weightBits: 8);
        FluentActions.Invoking(() => QatExport.Deploy(model, mixed)).Should().Throw<ArgumentException>().WithMessage("*'w0'*'w1'*");

        var unused = Trained(w0, w1, x, r);
        var config = QatExport.ConfigFor(model, unused) with { ExcludedNodes = ["fc1"] };
        FluentActions.Invoking(() => QatExport.Deploy(model, unused, config)).Should().Throw<ArgumentException>().WithMessage("*'w1'*not used*");
    }
}
