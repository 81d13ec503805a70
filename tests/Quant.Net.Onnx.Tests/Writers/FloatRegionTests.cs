using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;
using static Quant.Net.Onnx.Tests.Support.GraphBuilder;

namespace Quant.Net.Onnx.Tests.Onnx;

/// <summary>
/// A post-LayerNorm transformer block's residual stream stays float where no integer kernel reads it: the LayerNorm
/// reads float, its output is quantized for the MatMul only, the linear layer's bias and the residual Add stay float.
/// </summary>
public sealed class FloatRegionTests
{
    private const int Tokens = 5, Width = 8;

    /// <summary>h = LN(x); m = b + h·W; y = LN(h + m), with the first LayerNorm as the op or decomposed as PyTorch exports it.</summary>
    private static (OnnxModel Model, string H, string Residual, string Bias) Block(bool decomposed)
    {
        var g = new GraphBuilder(17, seed: 21);
        string x = g.Input("x", 1, Tokens, Width);
        string gamma = g.Random("gamma", 1f, Width), beta = g.Random("beta", 0.5f, Width);
        string h;
        if (decomposed)
        {
            string mean = g.Node("ReduceMean", [x], null, Ints("axes", -1));
            string d = g.Node("Sub", [x, mean]);
            string variance = g.Node("ReduceMean", [g.Node("Pow", [d, g.Initializer("two", [2f], [])])], null, Ints("axes", -1));
            string n = g.Node("Div", [d, g.Node("Sqrt", [g.Node("Add", [variance, g.Initializer("eps", [1e-5f], [])])])]);
            h = g.Node("Add", [g.Node("Mul", [n, gamma]), beta]);
        }
        else
        {
            h = g.Node("LayerNormalization", [x, gamma, beta], null, Int("axis", -1));
        }

        string bias = g.Random("b", 0.3f, Width);
        string m = g.Node("Add", [bias, g.Node("MatMul", [h, g.Random("w", 0.5f, Width, Width)])]);
        string residual = g.Node("Add", [h, m]);
        g.Output(g.Node("LayerNormalization", [residual, g.Initializer("ones", [.. Enumerable.Repeat(1f, Width)], Width), g.Initializer("zeros", new float[Width], Width)],
            "y", Int("axis", -1)), 1, Tokens, Width);
        return (g.Build(), h, residual, bias);
    }

    private static InMemoryCalibrationData Data(int count, int seed) => Samples.For("x", [1, Tokens, Width], count, seed: seed, scale: 3f, offset: 1f);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_layernorm_reads_float_its_output_is_quantized_only_for_the_matmul_and_the_residual_stays_float(bool decomposed)
    {
        var (model, h, residual, bias) = Block(decomposed);
        // (Outlier smoothing off: this test is about where quantizers go, and a smoothed h would be read through a Mul.)
        var result = OnnxQuantizer.Quantize(model, Data(16, 1), new QuantizationConfig { OutlierSmoothing = false });

        var activations = result.Encodings.Where(e => e.Tensor.Role == TensorRole.Activation).Select(e => e.Tensor).ToList();
        activations.Select(t => t.Name).Should().Equal([h], "only the MatMul's input is quantized: not the LayerNorm inputs, the linear layer's result or the residual sum");
        var residualAdd = result.PreparedModel.Nodes.Single(n => n.Outputs[0] == residual);
        activations[0].FloatReaders.Should().Equal([residualAdd.Name], "the residual Add reads the LayerNorm's output unrounded");
        result.Encodings.Should().Contain(e => e.Tensor.Role == TensorRole.Weight).And.NotContain(e => e.Tensor.Name == bias, "the bias added after the MatMul stays float");
        result.QuantizedNodes.Should().NotContain(residualAdd.Name);

        // In the written model the residual Add reads the float LayerNorm output and the MatMul its dequantized codes.
        var written = result.Model.Nodes;
        string Producer(string tensor) => written.Single(n => n.Outputs.Contains(tensor)).OpType;
        var add = written.Single(n => n.Outputs[0] == residual);
        add.Inputs.Where(i => Producer(i) != "DequantizeLinear" && written.Any(q => q.OpType == "QuantizeLinear" && q.Inputs[0] == i)).Should().ContainSingle();
        Producer(written.Single(n => n.OpType == "MatMul").Inputs[0]).Should().Be("DequantizeLinear");

        // ONNX Runtime computes y = LN(h + b + fq(h)·fq(W)) with h unrounded, as the simulation does.
        var expected = Simulate(result, model, h);
        using var ort = new ModelRunner(result.Model, intraOpThreads: 1);
        foreach (var (sample, want) in expected)
        {
            var actual = ort.Run(sample)["y"].Data;
            for (int i = 0; i < actual.Length; i++)
            {
                actual[i].Should().BeApproximately(want[i], 2e-4f, $"element {i}");
            }
        }
    }

    [Fact]
    public void Full_integer_quantizes_the_layernorm_input_and_the_residual_sum()
    {
        var (model, h, residual, _) = Block(decomposed: true);
        var result = OnnxQuantizer.Quantize(model, Data(16, 1), new QuantizationConfig { FullInteger = true });
        result.Encodings.Select(e => e.Tensor.Name).Should().Contain(["x", h, residual]);
        result.Encodings.Should().OnlyContain(e => e.Tensor.FloatReaders.Count == 0);
    }

    [Fact]
    public void A_gelu_between_two_linear_layers_computes_in_float_and_only_the_second_layers_input_is_quantized()
    {
        var g = new GraphBuilder(20, seed: 23);
        string x = g.Input("x", 1, Tokens, Width);
        string hidden = g.Node("Add", [g.Node("MatMul", [x, g.Random("w1", 0.5f, Width, 2 * Width)]), g.Random("b1", 0.2f, 2 * Width)]);
        string gelu = g.Node("Gelu", [hidden], "gelu");
        g.Output(g.Node("MatMul", [gelu, g.Random("w2", 0.5f, 2 * Width, Width)], "y"), 1, Tokens, Width);
        var model = g.Build();
        var result = OnnxQuantizer.Quantize(model, Data(16, 2), new QuantizationConfig { OutlierSmoothing = false });

        result.Encodings.Where(e => e.Tensor.Role == TensorRole.Activation).Select(e => e.Tensor.Name).Should().BeEquivalentTo(["x", "gelu", "y"],
            "the first layer writes float into the Gelu (no integer kernel computes it); the second layer's input is quantized");
        var report = ModelComparer.Compare(model, result, Data(4, 8), latencyRuns: 0, perLayer: false);
        report.Outputs[0].CosineSimilarity.Should().BeGreaterThan(0.999);
        var full = OnnxQuantizer.Quantize(model, Data(16, 2), new QuantizationConfig { FullInteger = true, OutlierSmoothing = false });
        full.Encodings.Select(e => e.Tensor.Name).Should().Contain(hidden, "an all-integer graph quantizes the Gelu's input too");
    }

    /// <summary>The block in float with W fake-quantized and h fake-quantized on the MatMul's edge only.</summary>
    private static List<(IReadOnlyDictionary<string, InputTensor>, float[])> Simulate(QuantizationResult result, OnnxModel model, string h)
    {
        var inits = model.Graph.Initializer.ToDictionary(i => i.Name, i => TensorData.ToFloats(i));
        var wEnc = result.Encodings.Single(e => e.Tensor.Role == TensorRole.Weight).Encoding!;
        var w = inits["w"];
        QuantOps.FakeQuantize(w, [Width, Width], wEnc, w);
        var hEnc = result.Encodings.Single(e => e.Tensor.Name == h).Encoding![0];
        var cases = new List<(IReadOnlyDictionary<string, InputTensor>, float[])>();
        foreach (var sample in Data(4, 9).GetSamples())
        {
            var x = sample["x"].Floats().ToArray();
            var y = new float[x.Length];
            for (int t = 0; t < Tokens; t++)
            {
                var row = LayerNorm(x.AsSpan(t * Width, Width), inits["gamma"], inits["beta"]);
                var q = row.ToArray();
                QuantOps.FakeQuantize(q, q, hEnc);
                var r = new float[Width];
                for (int j = 0; j < Width; j++)
                {
                    float acc = 0;
                    for (int k = 0; k < Width; k++)
                    {
                        acc += q[k] * w[(k * Width) + j];
                    }

                    r[j] = row[j] + inits["b"][j] + acc;
                }

                LayerNorm(r, [.. Enumerable.Repeat(1f, Width)], new float[Width]).CopyTo(y, t * Width);
            }

            cases.Add((sample, y));
        }

        return cases;
    }

    private static float[] LayerNorm(ReadOnlySpan<float> x, float[] gamma, float[] beta)
    {
        double mean = 0, variance = 0;
        foreach (float v in x)
        {
            mean += v;
        }

        mean /= x.Length;
        foreach (float v in x)
        {
            variance += (v - mean) * (v - mean);
        }

        variance /= x.Length;
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            y[i] = (float)(((x[i] - mean) / Math.Sqrt(variance + 1e-5)) * gamma[i]) + beta[i];
        }

        return y;
    }
}
