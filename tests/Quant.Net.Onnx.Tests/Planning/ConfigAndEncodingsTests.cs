using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;
using static Quant.Net.Onnx.Tests.Support.GraphBuilder;

namespace Quant.Net.Onnx.Tests.Onnx;

public sealed class ConfigAndEncodingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qn-cfg-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (OnnxModel Model, int[] Shape) Cnn()
    {
        var g = new GraphBuilder(seed: 9);
        string x = g.Input("x", 1, 3, 8, 8);
        string r1 = g.Node("Relu", [g.Conv(x, 3, 8)], name: "conv1_relu");
        string p = g.Node("MaxPool", [r1], null, All(Ints("kernel_shape", 2, 2), Ints("strides", 2, 2)), name: "pool");
        string r2 = g.Node("Relu", [g.Conv(p, 8, 8)], name: "conv2_relu");
        string add = g.Node("Add", [r2, p], name: "residual");
        string f = g.Node("Flatten", [g.Node("GlobalAveragePool", [add], name: "gap")]);
        g.Output(g.Gemm(f, 8, 5, output: "y"));
        return (g.Build(), [1, 3, 8, 8]);
    }

    [Fact]
    public void Config_round_trips_through_json_and_rejects_unknown_members_and_bad_values()
    {
        var config = new QuantizationConfig
        {
            Activations = ActivationType.Int8,
            Observer = ObserverKind.Percentile,
            Percentile = 99.9,
            ExcludedNodes = ["gap"],
            OpTypes = new Dictionary<string, OpTypeConfig> { ["Gemm"] = new() { PerChannelWeights = false }, ["MaxPool"] = new() { QuantizeOutput = false } },
            TensorObservers = new Dictionary<string, ObserverKind> { ["x"] = ObserverKind.MinMax },
        };
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, config.ToJson());
        var back = QuantizationConfig.Load(path);
        back.ToJson().Should().Be(config.ToJson());
        config.ToJson().Should().Contain("\"activations\": \"int8\"").And.Contain("\"observer\": \"percentile\"");

        FluentActions.Invoking(() => QuantizationConfig.FromJson("{\"weigths\": \"int8\"}")).Should().Throw<ArgumentException>().WithMessage("*weigths*");
        FluentActions.Invoking(() => QuantizationConfig.FromJson("{\"weights\": \"int5\"}")).Should().Throw<ArgumentException>().WithMessage("*weights*");
        FluentActions.Invoking(() => QuantizationConfig.FromJson("{\"percentile\": 20}")).Should().Throw<ArgumentException>().WithMessage("*percentile*");
        FluentActions.Invoking(() => QuantizationConfig.FromJson("{\"weightBlockSize\": 24}")).Should().Throw<ArgumentException>().WithMessage("*weightBlockSize*");
        FluentActions.Invoking(() => QuantizationConfig.FromJson("not json")).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Supergroups_excluded_nodes_and_op_type_overrides_shape_the_plan()
    {
        var (model, shape) = Cnn();
        var data = Samples.For("x", shape, 8);
        var result = OnnxQuantizer.Quantize(model, data, new QuantizationConfig
        {
            ExcludedNodes = ["gap"],
            OpTypes = new Dictionary<string, OpTypeConfig> { ["Gemm"] = new() { PerChannelWeights = false } },
        });
        var names = result.Encodings.Select(e => e.Tensor.Name).ToList();
        var graph = result.PreparedModel.Nodes;
        string conv1Out = graph.First(n => n.OpType == "Conv").Outputs[0];
        names.Should().NotContain(conv1Out, "Conv+Relu is a supergroup: no quantizer between them");
        names.Should().Contain(graph.Single(n => n.Name == "conv1_relu").Outputs[0]);
        result.QuantizedNodes.Should().NotContain("gap");
        result.Model.Nodes.Single(n => n.Name == "gap").Inputs[0].Should().Be(graph.Single(n => n.Name == "residual").Outputs[0],
            "an excluded node reads the dequantized float tensor");
        var pool = result.Encodings.Single(e => e.Tensor.Node == "pool" && e.Tensor.Role == TensorRole.Activation);
        pool.Tensor.SharesEncodingWith.Should().Be(graph.Single(n => n.Name == "conv1_relu").Outputs[0], "MaxPool keeps its input's encoding");
        result.Encodings.Single(e => e.Tensor.Role == TensorRole.Weight && e.Tensor.Node.StartsWith("Gemm", StringComparison.Ordinal)).Encoding!.Count.Should().Be(1);

        FluentActions.Invoking(() => OnnxQuantizer.Quantize(model, data, new QuantizationConfig { ExcludedNodes = ["nope"] }))
            .Should().Throw<ArgumentException>().WithMessage("*'nope'*");
    }

    [Theory]
    [InlineData(AimetEncodingsVersion.Version100)]
    [InlineData(AimetEncodingsVersion.Version061)]
    public void Aimet_encodings_round_trip_and_reproduce_the_same_quantized_model(AimetEncodingsVersion version)
    {
        var (model, shape) = Cnn();
        var result = OnnxQuantizer.Quantize(model, Samples.For("x", shape, 8));
        string path = Path.Combine(_dir, "model.encodings");
        AimetEncodingsFile.Save(result, path, version);
        string json = File.ReadAllText(path);
        json.Should().Contain(version == AimetEncodingsVersion.Version100 ? "\"version\": \"1.0.0\"" : "\"version\": \"0.6.1\"");

        var loaded = AimetEncodingsFile.Load(path);
        loaded.Should().HaveCount(result.Encodings.Count(e => e.Encoding is not null));
        // The encodings name the tensors of the prepared model (here outlier smoothing moved the classifier input's
        // range into its weights): with that model they give back the same quantized model, without calibration.
        result.Preparation.SmoothedTensors.Should().NotBeEmpty();
        var fixedEncodings = AimetEncodingsFile.ForModel(loaded, result.PreparedModel);
        var again = OnnxQuantizer.Quantize(result.PreparedModel, calibrationData: null, fixedEncodings: fixedEncodings);
        again.Model.ToBytes().Should().Equal(result.Model.ToBytes(), "the imported encodings give back the same model, without calibration");
        var plain = OnnxQuantizer.Quantize(model, Samples.For("x", shape, 8), new QuantizationConfig { OutlierSmoothing = false });
        AimetEncodingsFile.Save(plain, path, version);
        OnnxQuantizer.Quantize(model, calibrationData: null, fixedEncodings: AimetEncodingsFile.ForModel(AimetEncodingsFile.Load(path), model)).Model.ToBytes()
            .Should().Equal(plain.Model.ToBytes(), "without a rewrite in preparation the original model takes the encodings");
    }

    [Fact]
    public void Aimet_v1_entries_follow_the_aimet_offset_convention()
    {
        var (model, shape) = Cnn();
        var result = OnnxQuantizer.Quantize(model, Samples.For("x", shape, 8));
        var entries = AimetEncodingsFile.Parse(AimetEncodingsFile.ToJson(result, AimetEncodingsVersion.Version100));
        var weight = entries.First(e => e.IsParameter && e.Scales.Count == 8);
        weight.IsSymmetric.Should().BeTrue();
        weight.Offsets.Should().OnlyContain(o => o == -127, "narrow symmetric int8: offset = -(0 - (-127))");
        var activation = entries.Single(e => e.Name == "x");
        activation.Offsets[0].Should().Be(-result.Encodings.Single(e => e.Tensor.Name == "x").Encoding!.ZeroPoints[0], "uint8: offset = -zero_point");
        FluentActions.Invoking(() => AimetEncodingsFile.Parse("{\"version\":\"1.0.0\",\"activation_encodings\":[{\"name\":\"x\",\"scale\":[0],\"offset\":[0]}]}"))
            .Should().Throw<InvalidDataException>().WithMessage("*'x'*");
    }

    [Fact]
    public void Dynamic_mode_quantizes_gemm_and_matmul_weights_without_calibration()
    {
        var g = new GraphBuilder(seed: 4);
        string x = g.Input("x", 0, 32);
        string h = g.Node("Relu", [g.Gemm(x, 32, 64)]);
        g.Output(g.Node("MatMul", [h, g.Random("w2", 0.3f, 64, 10)], "y"));
        var model = g.Build();
        var result = OnnxQuantizer.Quantize(model, null, new QuantizationConfig { Mode = QuantizationMode.Dynamic });
        result.QuantizedNodes.Should().HaveCount(2);
        result.Model.Nodes.Count(n => n.OpType == "MatMulInteger").Should().Be(2);
        result.Model.InitializerBytes.Should().BeLessThan(model.InitializerBytes / 3);
        using var a = new ModelRunner(model);
        using var b = new ModelRunner(result.Model);
        foreach (var s in Samples.For("x", [3, 32], 4).GetSamples())
        {
            ErrorMetrics.CosineSimilarity(a.Run(s)["y"].Data, b.Run(s)["y"].Data).Should().BeGreaterThan(0.999);
        }
    }

    [Fact]
    public void Int16_activations_and_int4_weights_write_opset_21_models_that_run()
    {
        var (model, shape) = Cnn();
        var data = Samples.For("x", shape, 8);
        using var fp32 = new ModelRunner(model);
        var sample = data.GetSamples().First();
        var reference = fp32.Run(sample)["y"].Data;
        double Sqnr(QuantizationConfig config)
        {
            var result = OnnxQuantizer.Quantize(model, data, config);
            result.Model.OpsetVersion.Should().Be(config.Weights == WeightType.Int8 && config.Activations == ActivationType.UInt8 ? 13 : 21);
            using var runner = new ModelRunner(result.Model);
            return ErrorMetrics.SqnrDecibels(reference, runner.Run(sample)["y"].Data);
        }

        double w8a8 = Sqnr(new QuantizationConfig());
        double w16a16 = Sqnr(new QuantizationConfig { Weights = WeightType.Int16, Activations = ActivationType.Int16 });
        double w4a8 = Sqnr(new QuantizationConfig { Weights = WeightType.Int4 });
        double w4Blocked = Sqnr(new QuantizationConfig { Weights = WeightType.Int4, WeightBlockSize = 4 });
        w16a16.Should().BeGreaterThan(w8a8 + 20);
        w8a8.Should().BeGreaterThan(w4a8);
        w4a8.Should().BeGreaterThan(5);
        w4Blocked.Should().BeGreaterThan(5);
    }
}
