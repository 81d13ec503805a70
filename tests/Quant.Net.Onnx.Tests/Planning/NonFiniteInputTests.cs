using FluentAssertions;
using Quant.Net.Onnx.Protobuf;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Onnx;

/// <summary>NaN and infinite weights, biases, BatchNorm statistics and calibration data are refused by name, not quantized to scale 1 and NaN; float64 models are refused up front.</summary>
public sealed class NonFiniteInputTests
{
    private static OnnxModel ConvBn(out string weight, out string bias, out string variance)
    {
        var g = new GraphBuilder(seed: 17);
        string x = g.Input("x", 1, 3, 6, 6);
        string conv = g.Conv(x, 3, 4);
        g.Output(g.Node("Relu", [g.BatchNorm(conv, 4)], "y"), 1, 4, 6, 6);
        var model = g.Build();
        var inits = model.Graph.Initializer.Select(t => t.Name).ToList();
        weight = inits.First(n => n.StartsWith('w'));
        bias = inits.First(n => n.StartsWith('b') && !n.StartsWith("beta", StringComparison.Ordinal));
        variance = inits.First(n => n.StartsWith("var", StringComparison.Ordinal));
        return model;
    }

    private static void Poison(OnnxModel model, string tensor, int index, float value)
    {
        var t = model.Graph.Initializer.Single(i => i.Name == tensor);
        var values = TensorData.ToFloats(t);
        values[index] = value;
        var replacement = TensorData.Create<float>(t.Name, values, TensorData.Shape(t));
        model.Graph.Initializer[model.Graph.Initializer.IndexOf(t)] = replacement;
    }

    [Fact]
    public void Non_finite_weights_and_biases_are_refused_naming_the_tensor()
    {
        var model = ConvBn(out string weight, out string bias, out _);
        Poison(model, weight, 5, float.NaN);
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(model, Samples.For("x", [1, 3, 6, 6], 2), new QuantizationConfig { OutlierSmoothing = false }))
            .Should().Throw<OnnxFormatException>().WithMessage($"*Weight '{weight}*' of node*NaN*element 5*");

        model = ConvBn(out _, out bias, out _);
        Poison(model, bias, 1, float.PositiveInfinity);
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(model, Samples.For("x", [1, 3, 6, 6], 2), new QuantizationConfig { OutlierSmoothing = false, CrossLayerEqualization = false }))
            .Should().Throw<OnnxFormatException>().WithMessage("*finite*");
    }

    [Fact]
    public void Non_finite_weights_are_refused_before_equalization_smoothing_or_dynamic_quantization_use_them()
    {
        // Cross-layer equalization and outlier smoothing (on by default) read weights before the encodings do, and dynamic
        // quantization never computes activation encodings: each used to fail on a range of NaN or write the NaN out.
        foreach (var config in new[] { new QuantizationConfig(), new QuantizationConfig { Mode = QuantizationMode.Dynamic } })
        {
            var model = ConvBn(out string weight, out _, out _);
            Poison(model, weight, 1, float.NaN);
            FluentActions.Invoking(() => OnnxQuantizer.Quantize(model, config.Mode == QuantizationMode.Dynamic ? null : Samples.For("x", [1, 3, 6, 6], 2), config))
                .Should().Throw<OnnxFormatException>().WithMessage($"Weight '{weight}' of node '*' (Conv) holds NaN at element 1*", config.Mode.ToString());
        }

        var values = new float[3 * 6 * 6];
        values[4] = float.PositiveInfinity;
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(ConvBn(out _, out _, out _), InMemoryCalibrationData.ForSingleInput("x", [InputTensor.FromFloats(values, [1, 3, 6, 6])])))
            .Should().Throw<InvalidDataException>().WithMessage("*input 'x' holds * at element 4; calibration data must be finite*", "smoothing reads the samples before calibration checks them");
    }

    [Theory]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    public void A_batchnorm_with_a_negative_or_nan_variance_is_refused_naming_node_and_channel(float value)
    {
        var model = ConvBn(out _, out _, out string variance);
        Poison(model, variance, 2, value);
        FluentActions.Invoking(() => ModelPreparer.Prepare(model)).Should().Throw<OnnxFormatException>().WithMessage("*BatchNormalization*channel 2*variance*");
    }

    [Fact]
    public void Non_finite_or_empty_calibration_data_is_refused_naming_the_input()
    {
        var model = ConvBn(out _, out _, out _);
        var values = new float[3 * 6 * 6];
        values[7] = float.NaN;
        var nan = InMemoryCalibrationData.ForSingleInput("x", [InputTensor.FromFloats(values, [1, 3, 6, 6])]);
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(model, nan, new QuantizationConfig { OutlierSmoothing = false }))
            .Should().Throw<InvalidDataException>().WithMessage("*input 'x' holds NaN at element 7*");
        var empty = InMemoryCalibrationData.ForSingleInput("x", [InputTensor.FromFloats([], [1, 3, 0, 6])]);
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(model, empty, new QuantizationConfig { OutlierSmoothing = false }))
            .Should().Throw<Exception>().Where(e => e.Message.Contains("no elements", StringComparison.Ordinal) || e.Message.Contains("'x'", StringComparison.Ordinal));
    }

    [Fact]
    public void A_float64_model_is_refused_up_front_instead_of_coming_out_unquantized()
    {
        var graph = new GraphProto { Name = "double" };
        graph.Input.Add(ProtoBuilder.Value("x", TensorProto.Types.DataType.Double, 1, 4));
        graph.Output.Add(ProtoBuilder.Value("y", TensorProto.Types.DataType.Double, 1, 3));
        var w = new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Double, RawData = Google.Protobuf.ByteString.CopyFrom(new byte[4 * 3 * 8]) };
        w.Dims.Add([4, 3]);
        graph.Initializer.Add(w);
        graph.Node.Add(ProtoBuilder.Node("MatMul", "mm", ["x", "w"], "y"));
        var proto = new ModelProto { IrVersion = 8, ProducerName = "test", Graph = graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        var model = OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(proto));
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(model, calibrationData: null, new QuantizationConfig { Mode = QuantizationMode.Dynamic }))
            .Should().Throw<NotSupportedException>().WithMessage("*Weight 'w' of node 'mm' (MatMul) is float64*");

        // A float64 input into a layer with float32 weights: a type error dynamic quantization (which never runs the model) wrote out.
        var mixed = proto.Clone();
        mixed.Graph.Initializer[0] = TensorData.Create<float>("w", new float[12], [4, 3]);
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(mixed)), calibrationData: null, new QuantizationConfig { Mode = QuantizationMode.Dynamic }))
            .Should().Throw<NotSupportedException>().WithMessage("*Input 'x' is float64 and feeds node 'mm' (MatMul)*");

        // The streaming weight-only path prepares the graph its own way and refuses it the same.
        string dir = Directory.CreateTempSubdirectory("qn-f64-").FullName;
        try
        {
            string path = Path.Combine(dir, "double.onnx");
            model.Save(path);
            FluentActions.Invoking(() => WeightOnlyQuantizer.QuantizeFile(path, Path.Combine(dir, "out.onnx")))
                .Should().Throw<NotSupportedException>().WithMessage("*Weight 'w' of node 'mm' (MatMul) is float64*");
            File.Exists(Path.Combine(dir, "out.onnx")).Should().BeFalse();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
