using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;
using static Quant.Net.Onnx.Tests.Support.GraphBuilder;

namespace Quant.Net.Onnx.Tests.Onnx;

/// <summary>
/// One model per supported op pattern: the QDQ model loads in ONNX Runtime, runs (fused integer kernels where ORT has
/// them), and agrees with our own fake-quant simulation of the same encodings within one output quantization step.
/// </summary>
public sealed class QdqPatternTests
{
    public static TheoryData<string> Patterns => new(["conv", "conv-relu", "depthwise-conv", "strided-conv-nobias", "gemm-relu", "gemm-notrans", "matmul",
        "add-const-relu", "mul-const", "maxpool", "averagepool", "globalaveragepool", "sigmoid", "flatten-gemm",
        "hardswish-decomposed", "hardswish-hardsigmoid", "swish", "gelu-erf", "gelu-tanh", "layernorm-decomposed", "softmax", "convtranspose", "prelu", "instancenorm", "layernorm",
        "groupnorm", "where", "gatherelements", "expand", "tile", "elu", "gelu-op",
        "all:pow", "all:sqrt", "all:div", "all:exp", "all:log", "all:erf", "all:neg", "all:abs"]);

    internal static (OnnxModel Model, int[] Shape) Build(string pattern)
    {
        var g = new GraphBuilder(seed: pattern.Length);
        string x;
        int[] shape;
        string y;
        switch (pattern)
        {
            case "conv":
                x = g.Input("x", 1, 3, 9, 7);
                shape = [1, 3, 9, 7];
                y = g.Conv(x, 3, 8, output: "y");
                g.Output(y);
                break;
            case "conv-relu":
                x = g.Input("x", 1, 4, 8, 8);
                shape = [1, 4, 8, 8];
                y = g.Node("Relu", [g.Conv(x, 4, 6)], "y");
                g.Output(y);
                break;
            case "depthwise-conv":
                x = g.Input("x", 1, 8, 6, 6);
                shape = [1, 8, 6, 6];
                y = g.Conv(x, 8, 8, group: 8, output: "y");
                g.Output(y);
                break;
            case "strided-conv-nobias":
                x = g.Input("x", 1, 5, 11, 11);
                shape = [1, 5, 11, 11];
                y = g.Conv(x, 5, 7, kernel: 3, stride: 2, bias: false, output: "y");
                g.Output(y);
                break;
            case "gemm-relu":
                x = g.Input("x", 1, 24);
                shape = [1, 24];
                y = g.Node("Relu", [g.Gemm(x, 24, 10)], "y");
                g.Output(y);
                break;
            case "gemm-notrans":
                x = g.Input("x", 1, 17);
                shape = [1, 17];
                y = g.Gemm(x, 17, 9, transB: false, output: "y");
                g.Output(y);
                break;
            case "matmul":
                x = g.Input("x", 1, 16);
                shape = [1, 16];
                y = g.Node("MatMul", [x, g.Random("w", 0.4f, 16, 12)], "y");
                g.Output(y);
                break;
            case "add-const-relu":
                x = g.Input("x", 1, 4, 5, 5);
                shape = [1, 4, 5, 5];
                y = g.Node("Relu", [g.Node("Add", [x, g.Random("c", 0.5f, 1, 4, 1, 1)])], "y");
                g.Output(y);
                break;
            case "mul-const":
                x = g.Input("x", 1, 6);
                shape = [1, 6];
                y = g.Node("Mul", [x, g.Random("c", 2f, 1, 6)], "y");
                g.Output(y);
                break;
            case "maxpool":
                x = g.Input("x", 1, 3, 8, 8);
                shape = [1, 3, 8, 8];
                y = g.Node("MaxPool", [x], "y", All(Ints("kernel_shape", 2, 2), Ints("strides", 2, 2)));
                g.Output(y);
                break;
            case "averagepool":
                x = g.Input("x", 1, 3, 8, 8);
                shape = [1, 3, 8, 8];
                y = g.Node("AveragePool", [x], "y", All(Ints("kernel_shape", 3, 3), Ints("strides", 1, 1)));
                g.Output(y);
                break;
            case "globalaveragepool":
                x = g.Input("x", 1, 5, 6, 6);
                shape = [1, 5, 6, 6];
                y = g.Node("GlobalAveragePool", [x], "y");
                g.Output(y);
                break;
            case "sigmoid":
                x = g.Input("x", 1, 32);
                shape = [1, 32];
                y = g.Node("Sigmoid", [x], "y");
                g.Output(y);
                break;
            case "hardswish-decomposed":
                // x · Clip(x + 3, 0, 6) / 6, as PaddlePaddle and older PyTorch exports write it.
                x = g.Input("x", 1, 4, 5, 5);
                shape = [1, 4, 5, 5];
                string gate = g.Node("Clip", [g.Node("Add", [x, g.Initializer("three", [3f], [])]), g.Initializer("lo", [0f], []), g.Initializer("hi", [6f], [])]);
                y = g.Node("Div", [g.Node("Mul", [x, gate]), g.Initializer("six", [6f], [])], "y");
                g.Output(y);
                break;
            case "hardswish-hardsigmoid":
                x = g.Input("x", 1, 24);
                shape = [1, 24];
                y = g.Node("Mul", [x, g.Node("HardSigmoid", [x], null, All(Float("alpha", 1f / 6), Float("beta", 0.5f)))], "y");
                g.Output(y);
                break;
            case "swish":
                x = g.Input("x", 1, 3, 4, 4);
                shape = [1, 3, 4, 4];
                y = g.Node("Mul", [g.Node("Sigmoid", [x]), x], "y");
                g.Output(y);
                break;
            case "gelu-erf":
                // x · 0.5 · (1 + Erf(x / √2)), PyTorch's export of exact GELU.
                x = g.Input("x", 1, 8, 16);
                shape = [1, 8, 16];
                string erf = g.Node("Erf", [g.Node("Div", [x, g.Initializer("sqrt2", [1.4142135f], [])])]);
                string half = g.Node("Mul", [x, g.Node("Add", [erf, g.Initializer("one", [1f], [])])]);
                y = g.Node("Mul", [half, g.Initializer("half", [0.5f], [])], "y");
                g.Output(y);
                break;
            case "gelu-tanh":
                // 0.5 · x · (1 + Tanh(√(2/π) · (x + 0.044715 · x³))), GELU's tanh approximation as PyTorch exports it.
                x = g.Input("x", 1, 8, 16);
                shape = [1, 8, 16];
                string cube = g.Node("Mul", [g.Initializer("c", [0.044715f], []), g.Node("Pow", [x, g.Initializer("three3", [3f], [])])]);
                string inner = g.Node("Mul", [g.Initializer("k", [0.7978846f], []), g.Node("Add", [x, cube])]);
                string gate1 = g.Node("Add", [g.Initializer("one1", [1f], []), g.Node("Tanh", [inner])]);
                y = g.Node("Mul", [g.Node("Mul", [x, g.Initializer("half1", [0.5f], [])]), gate1], "y");
                g.Output(y);
                break;
            case "layernorm-decomposed":
                // PyTorch's export of LayerNorm: (x − mean) / √(mean((x − mean)²) + ε) · γ + β over the last axis.
                x = g.Input("x", 1, 5, 16);
                shape = [1, 5, 16];
                string mean = g.Node("ReduceMean", [x], null, Ints("axes", -1));
                string centred = g.Node("Sub", [x, mean]);
                string variance = g.Node("ReduceMean", [g.Node("Pow", [centred, g.Initializer("two", [2f], [])])], null, Ints("axes", -1));
                string root = g.Node("Sqrt", [g.Node("Add", [variance, g.Initializer("eps", [1e-5f], [])])]);
                string normalized = g.Node("Div", [centred, root]);
                y = g.Node("Add", [g.Node("Mul", [normalized, g.Random("gamma", 1f, 16)]), g.Random("beta", 0.5f, 16)], "y");
                g.Output(y);
                break;
            case "softmax":
                x = g.Input("x", 1, 3, 10);
                shape = [1, 3, 10];
                y = g.Node("Softmax", [x], "y", Int("axis", -1));
                g.Output(y);
                break;
            case "convtranspose":
                x = g.Input("x", 1, 3, 5, 5);
                shape = [1, 3, 5, 5];
                y = g.Node("ConvTranspose", [x, g.Random("w", 0.5f, 3, 4, 3, 3), g.Random("b", 0.2f, 4)], "y", All(Ints("kernel_shape", 3, 3), Ints("strides", 2, 2)));
                g.Output(y);
                break;
            case "prelu":
                x = g.Input("x", 1, 4, 3, 3);
                shape = [1, 4, 3, 3];
                y = g.Node("PRelu", [x, g.Random("slope", 0.3f, 4, 1, 1)], "y");
                g.Output(y);
                break;
            case "instancenorm":
                x = g.Input("x", 1, 3, 5, 5);
                shape = [1, 3, 5, 5];
                y = g.Node("InstanceNormalization", [x, g.Random("scale", 1f, 3), g.Random("bias", 0.5f, 3)], "y");
                g.Output(y);
                break;
            case "layernorm":
                x = g.Input("x", 1, 6, 16);
                shape = [1, 6, 16];
                y = g.Node("LayerNormalization", [x, g.Random("scale", 1f, 16), g.Random("bias", 0.5f, 16)], "y", Int("axis", -1));
                g.Output(y);
                break;
            case "groupnorm":
                g = new GraphBuilder(21, seed: 5);
                x = g.Input("x", 1, 4, 3, 3);
                shape = [1, 4, 3, 3];
                y = g.Node("GroupNormalization", [x, g.Random("scale", 1f, 4), g.Random("bias", 0.5f, 4)], "y", Int("num_groups", 2));
                g.Output(y);
                break;
            case "where":
                x = g.Input("x", 1, 12);
                shape = [1, 12];
                string condition = g.Node("Greater", [x, g.Initializer("zero", [0f], [])]);
                y = g.Node("Where", [condition, x, g.Random("other", 1f, 1, 12)], "y");
                g.Output(y);
                break;
            case "gatherelements":
                x = g.Input("x", 2, 5);
                shape = [2, 5];
                string indices = g.Node("Cast", [g.Initializer("idx", [4f, 0f, 2f, 1f, 3f, 3f], 2, 3)], null, Int("to", 7));
                y = g.Node("GatherElements", [x, indices], "y", Int("axis", 1));
                g.Output(y);
                break;
            case "expand":
                x = g.Input("x", 1, 3, 1);
                shape = [1, 3, 1];
                y = g.Node("Expand", [x, g.Node("Cast", [g.Initializer("target", [2f, 3f, 4f], 3)], null, Int("to", 7))], "y");
                g.Output(y);
                break;
            case "tile":
                x = g.Input("x", 1, 2, 3);
                shape = [1, 2, 3];
                y = g.Node("Tile", [x, g.Node("Cast", [g.Initializer("repeats", [2f, 1f, 2f], 3)], null, Int("to", 7))], "y");
                g.Output(y);
                break;
            case "elu":
                x = g.Input("x", 1, 20);
                shape = [1, 20];
                y = g.Node("Elu", [x], "y");
                g.Output(y);
                break;
            case "gelu-op":
                g = new GraphBuilder(20, seed: 5);
                x = g.Input("x", 1, 20);
                shape = [1, 20];
                y = g.Node("Gelu", [x], "y");
                g.Output(y);
                break;
            case var all when all.StartsWith("all:", StringComparison.Ordinal):
                // Float-compute ops, quantized only when every operator is asked for: positive inputs where the op needs them.
                x = g.Input("x", 1, 16);
                shape = [1, 16];
                string op = all[4..];
                y = op switch
                {
                    "pow" => g.Node("Pow", [x, g.Initializer("two", [2f], [])], "y"),
                    "div" => g.Node("Div", [x, g.Initializer("three", [3f], [])], "y"),
                    _ => g.Node(char.ToUpperInvariant(op[0]) + op[1..], [x], "y"),
                };
                g.Output(y);
                break;
            default:
                x = g.Input("x", 1, 2, 4, 4);
                shape = [1, 2, 4, 4];
                y = g.Gemm(g.Node("Flatten", [x]), 32, 5, output: "y");
                g.Output(y);
                break;
        }

        return (g.Build(), shape);
    }

    [Theory]
    [MemberData(nameof(Patterns))]
    public void Qdq_model_runs_in_onnx_runtime_and_matches_our_fake_quant_simulation_within_one_step(string pattern)
    {
        var (model, shape) = Build(pattern);
        float offset = pattern is "all:sqrt" or "all:log" ? 2.5f : 0f; // positive inputs where the op needs them
        var calibration = Samples.For("x", shape, 24, seed: 3, scale: 2f, offset: offset);
        // (Multi-node activations and LayerNorms compute in float by default — see FloatRegionTests; in an all-integer
        // NPU graph each is one quantized op.)
        var result = OnnxQuantizer.Quantize(model, calibration, new QuantizationConfig
        {
            QuantizeAllOperators = pattern.StartsWith("all:", StringComparison.Ordinal),
            FullInteger = pattern is "hardswish-decomposed" or "hardswish-hardsigmoid" or "swish" or "gelu-erf" or "gelu-tanh" or "gelu-op" or "layernorm-decomposed" or "layernorm",
        });

        result.QuantizedNodes.Should().NotBeEmpty();
        result.Model.Nodes.Should().Contain(n => n.OpType == "QuantizeLinear").And.Contain(n => n.OpType == "DequantizeLinear");
        if (pattern is "softmax")
        {
            var softmax = result.Encodings.Single(e => e.Tensor.Name == "y").Encoding!;
            (softmax.Scales[0], softmax.ZeroPoints[0]).Should().Be((1f / 255, 0), "Softmax outputs have the fixed [0, 1] encoding");
        }

        if (pattern is "hardswish-decomposed" or "hardswish-hardsigmoid" or "swish" or "gelu-erf" or "gelu-tanh" or "layernorm-decomposed")
        {
            result.Encodings.Where(e => e.Tensor.Role == TensorRole.Activation).Select(e => e.Tensor.Name).Should().BeEquivalentTo(["x", "y"],
                "a gated activation or a LayerNorm is one quantized op: nothing inside it gets a quantizer");
            result.Encodings.Should().NotContain(e => e.Tensor.Role == TensorRole.Constant, "its constants stay float");
        }

        var test = Samples.For("x", shape, 6, seed: 11, scale: 2f, offset: offset);
        float step = Simulation.OutputStep(result);
        using var ort = new ModelRunner(result.Model, intraOpThreads: 1);
        foreach (var sample in test.GetSamples())
        {
            var actual = ort.Run(sample)["y"].Data;
            var expected = Simulation.Run(result, "x", sample["x"]);
            actual.Length.Should().Be(expected.Length);
            for (int i = 0; i < actual.Length; i++)
            {
                Math.Abs(actual[i] - expected[i]).Should().BeLessThanOrEqualTo(step * 1.001f, $"{pattern}: element {i} ({actual[i]} vs {expected[i]}, step {step})");
            }
        }
    }

    [Fact]
    public void ArgMax_reads_its_quantized_input_and_picks_the_same_index_as_on_the_fake_quantized_values()
    {
        var g = new GraphBuilder(seed: 12);
        string x = g.Input("x", 3, 10);
        g.Node("ArgMax", [g.Node("Relu", [x])], "y", Int("axis", 1));
        g.Graph.Output.Add(ValueInfo("y", Protobuf.TensorProto.Types.DataType.Int64, [3, 1]));
        var result = OnnxQuantizer.Quantize(g.Build(), Samples.For("x", [3, 10], 16, scale: 3f));
        result.QuantizedNodes.Should().Contain(n => n.StartsWith("ArgMax", StringComparison.Ordinal));
        var encoding = result.Encodings.Single(e => e.Tensor.Name.StartsWith("relu", StringComparison.Ordinal)).Encoding!;
        foreach (var sample in Samples.For("x", [3, 10], 4, seed: 21, scale: 3f).GetSamples())
        {
            var values = sample["x"].Floats().ToArray().Select(v => Math.Max(v, 0f)).ToArray();
            QuantOps.FakeQuantize(values, values, encoding[0]);
            var indices = OrtExact.Run(result.Model.ToBytes(), sample, ["y"])["y"].Bytes;
            for (int row = 0; row < 3; row++)
            {
                long actual = BitConverter.ToInt64(indices, row * 8);
                var slice = values.AsSpan(row * 10, 10);
                slice[(int)actual].Should().Be(slice.ToArray().Max(), "ArgMax over the dequantized codes (first index on ties)");
            }
        }
    }

    [Fact]
    public void Weights_are_int8_per_channel_with_axis_and_biases_int32_with_input_times_weight_scale()
    {
        var (model, shape) = Build("conv");
        var result = OnnxQuantizer.Quantize(model, Samples.For("x", shape, 8));
        var proto = result.Model.Proto.Graph;
        var weight = result.Encodings.Single(e => e.Tensor.Role == TensorRole.Weight);
        var bias = result.Encodings.Single(e => e.Tensor.Role == TensorRole.Bias);
        var input = result.Encodings.Single(e => e.Tensor.Name == "x");
        weight.Encoding!.Count.Should().Be(8);
        weight.Encoding.ZeroPoints.ToArray().Should().OnlyContain(z => z == 0);
        proto.Initializer.Single(i => i.Name == weight.Tensor.Name + "_quantized").DataType.Should().Be((int)Protobuf.TensorProto.Types.DataType.Int8);
        proto.Initializer.Single(i => i.Name == bias.Tensor.Name + "_quantized").DataType.Should().Be((int)Protobuf.TensorProto.Types.DataType.Int32);
        for (int c = 0; c < 8; c++)
        {
            bias.BiasScales![c].Should().Be(input.Encoding!.Scales[0] * weight.Encoding.Scales[c]);
        }

        var dq = proto.Node.Single(n => n.OpType == "DequantizeLinear" && n.Output[0] == weight.Tensor.Name);
        dq.Attribute.Single(a => a.Name == "axis").I.Should().Be(0);
        proto.Initializer.Should().NotContain(i => i.Name == weight.Tensor.Name, "the float weight is replaced");
    }

    [Fact]
    public void Onnx_runtime_fuses_conv_relu_into_an_integer_kernel()
    {
        var (model, shape) = Build("conv-relu");
        var result = OnnxQuantizer.Quantize(model, Samples.For("x", shape, 8));
        string path = Path.Combine(Path.GetTempPath(), $"qn-fused-{Guid.NewGuid():N}.onnx");
        try
        {
            using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { OptimizedModelFilePath = path, GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED };
            using (new Microsoft.ML.OnnxRuntime.InferenceSession(result.Model.ToBytes(), options))
            {
            }

            var optimized = OnnxModel.Load(path);
            optimized.Nodes.Select(n => n.OpType).Should().Contain("QLinearConv").And.NotContain("Conv").And.NotContain("Relu");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
