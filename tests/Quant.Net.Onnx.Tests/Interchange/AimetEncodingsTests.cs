using System.Text.Json.Nodes;
using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;
using static Quant.Net.Onnx.Tests.Support.Samples;

namespace Quant.Net.Onnx.Tests.Interchange;

/// <summary>
/// AIMET encodings read and written as AIMET's writer and reader define them: strict and non-strict symmetric weights,
/// min/max, what the file says honoured on import, floating-point and LPBQ entries, format 2.0.0, per-block order,
/// truthful quantizer_args, and bad entries refused by name.
/// </summary>
public sealed class AimetEncodingsTests
{
    private static (OnnxModel Model, int[] Shape) Cnn()
    {
        var g = new GraphBuilder(seed: 21);
        string x = g.Input("x", 1, 3, 8, 8);
        string r = g.Node("Relu", [g.Conv(x, 3, 8)], name: "conv_relu");
        string f = g.Node("Flatten", [g.Node("GlobalAveragePool", [r], name: "gap")]);
        g.Output(g.Gemm(f, 8, 5, output: "y"));
        return (g.Build(), [1, 3, 8, 8]);
    }

    private static QuantizationResult Quantize(QuantizationConfig? config = null)
    {
        var (model, shape) = Cnn();
        return OnnxQuantizer.Quantize(model, For("x", shape, 8), (config ?? new QuantizationConfig()) with { OutlierSmoothing = false });
    }

    private static IEnumerable<long> Flat(JsonNode? node) => node is JsonArray a ? a.SelectMany(Flat) : node is null ? [] : [node.GetValue<long>()];

    private static JsonObject Json(QuantizationResult result, AimetEncodingsVersion version) =>
        JsonNode.Parse(AimetEncodingsFile.ToJson(result, version))!.AsObject();

    [Fact]
    public void Strict_and_non_strict_symmetric_weights_have_aimets_offsets_and_ranges_in_0_6_1()
    {
        foreach (bool strict in new[] { true, false })
        {
            var result = Quantize(new QuantizationConfig { StrictSymmetricWeights = strict });
            var weight = result.Encodings.First(e => e.Tensor.Role == TensorRole.Weight && e.Encoding!.Count == 8);
            var entries = Json(result, AimetEncodingsVersion.Version061)["param_encodings"]![weight.Tensor.Name]!.AsArray();
            entries.Should().HaveCount(8);
            for (int c = 0; c < 8; c++)
            {
                var e = entries[c]!.AsObject();
                double scale = e["scale"]!.GetValue<double>();
                e["offset"]!.GetValue<int>().Should().Be(strict ? -127 : -128);
                e["is_symmetric"]!.GetValue<string>().Should().Be("True");
                e["max"]!.GetValue<double>().Should().BeApproximately(127 * scale, 1e-9, "AIMET's max is 127·scale in both modes");
                e["min"]!.GetValue<double>().Should().BeApproximately((strict ? -127 : -128) * scale, 1e-9);
                scale.Should().Be(weight.Encoding!.Scales[c]);
            }

            weight.Encoding!.ZeroPoints.ToArray().Should().OnlyContain(z => z == 0);
            weight.Encoding!.Scheme.QMin.Should().Be(strict ? -127 : -128);
        }
    }

    [Theory]
    [InlineData(AimetEncodingsVersion.Version061)]
    [InlineData(AimetEncodingsVersion.Version100)]
    [InlineData(AimetEncodingsVersion.Version200)]
    public void Non_strict_encodings_import_onto_the_default_config_and_give_back_the_same_model(AimetEncodingsVersion version)
    {
        var (model, _) = Cnn();
        var result = Quantize(new QuantizationConfig { StrictSymmetricWeights = false });
        var parsed = AimetEncodingsFile.Parse(AimetEncodingsFile.ToJson(result, version));
        parsed.Should().Contain(e => e.IsSymmetric && e.Offsets.All(o => o == -128), "non-strict symmetric weights");
        var imported = AimetEncodingsFile.ForModel(parsed, model, new QuantizationConfig { OutlierSmoothing = false });
        imported.Values.Where(e => e.Scheme.IsSigned).SelectMany(e => e.ZeroPoints.ToArray()).Should().OnlyContain(z => z == 0, "offset −128 is zero point 0 on the full int8 range (not 1)");
        OnnxQuantizer.Quantize(model, calibrationData: null, new QuantizationConfig { OutlierSmoothing = false }, imported).Model.ToBytes()
            .Should().Equal(result.Model.ToBytes(), "the file's non-strict weights are kept although the config defaults to strict");
    }

    [Fact]
    public void Version_2_0_0_writes_onnx_terms_and_reads_back_what_1_0_0_says()
    {
        // 2.0.0 speaks ONNX QuantizeLinear, which has no narrow range: non-strict weights round-trip field for field.
        var result = Quantize(new QuantizationConfig { StrictSymmetricWeights = false });
        Json(Quantize(), AimetEncodingsVersion.Version200)["encodings"]!.AsArray().Where(e => e!["output_dtype"]!.GetValue<string>() == "int8")
            .Where(e => e!["y_scale"] is JsonArray).Should().NotBeEmpty()
            .And.OnlyContain(e => Flat(e!["y_zero_point"]).All(z => z == -1), "strict symmetric weights: zero point −1, as aimet_onnx writes AIMET's strict grid");
        var v2 = Json(result, AimetEncodingsVersion.Version200);
        v2["version"]!.GetValue<string>().Should().Be("2.0.0");
        v2.ContainsKey("quantizer_args").Should().BeFalse();
        var entries = v2["encodings"]!.AsArray().Select(e => e!.AsObject()).ToList();
        var weight = entries.First(e => e["output_dtype"]!.GetValue<string>() == "int8" && e["y_scale"] is JsonArray);
        weight.ContainsKey("y_zero_point").Should().BeFalse("symmetric int8 zero points are all 0 and left out");
        weight["axis"]!.GetValue<int>().Should().Be(0);
        var input = entries.Single(e => e["name"]!.GetValue<string>() == "x");
        input["output_dtype"]!.GetValue<string>().Should().Be("uint8");
        input["y_zero_point"]!.GetValue<long>().Should().Be(result.Encodings.Single(e => e.Tensor.Name == "x").Encoding!.ZeroPoints[0]);

        var fromV2 = AimetEncodingsFile.Parse(v2.ToJsonString()).ToDictionary(e => e.Name);
        foreach (var e in AimetEncodingsFile.Parse(AimetEncodingsFile.ToJson(result, AimetEncodingsVersion.Version100)))
        {
            var other = fromV2[e.Name];
            other.Scales.Should().Equal(e.Scales, e.Name);
            other.Offsets.Should().Equal(e.Offsets, e.Name);
            other.BitWidth.Should().Be(e.BitWidth);
            other.IsSymmetric.Should().Be(e.IsSymmetric, e.Name);
            other.Type.Should().Be(e.Type, e.Name);
        }
    }

    [Fact]
    public void Quantizer_args_tell_the_truth_about_the_run()
    {
        var args = Json(Quantize(new QuantizationConfig { Observer = ObserverKind.Mse, Activations = ActivationType.UInt16 }), AimetEncodingsVersion.Version100)["quantizer_args"]!.AsObject();
        args["quant_scheme"]!.GetValue<string>().Should().Be("post_training_tf_enhanced");
        args["activation_bitwidth"]!.GetValue<int>().Should().Be(16);
        args["param_bitwidth"]!.GetValue<int>().Should().Be(8);
        args["is_symmetric"]!.GetValue<bool>().Should().BeTrue();
        args["per_channel_quantization"]!.GetValue<bool>().Should().BeTrue();
        args.Select(p => p.Key).Should().BeEquivalentTo(["activation_bitwidth", "dtype", "is_symmetric", "param_bitwidth", "per_channel_quantization", "quant_scheme"],
            "AIMET's six keys and no others");
        Json(Quantize(new QuantizationConfig { PerChannelWeights = false }), AimetEncodingsVersion.Version061)["quantizer_args"]!["per_channel_quantization"]!.GetValue<bool>()
            .Should().BeFalse();
    }

    [Fact]
    public void Matmul_blocks_are_written_block_major_and_conv_blocks_only_when_the_kernel_window_shares_them()
    {
        var g = new GraphBuilder(seed: 3);
        string x = g.Input("x", 2, 64);
        g.Output(g.Node("MatMul", [x, g.Random("w", 0.3f, 64, 6)], "y", name: "mm"), 2, 6);
        var model = g.Build();
        var config = new QuantizationConfig { Weights = WeightType.Int4, WeightBlockSize = 16, OutlierSmoothing = false };
        var result = OnnxQuantizer.Quantize(model, For("x", [2, 64], 4), config);
        var entry = AimetEncodingsFile.Parse(AimetEncodingsFile.ToJson(result, AimetEncodingsVersion.Version100)).Single(e => e.Name == "w");
        entry.Type.Should().Be(AimetEncodingType.PerBlock);
        entry.BlockSize.Should().Be(16);
        entry.Scales.Should().HaveCount(4 * 6);
        var weights = TensorData.ToFloats(model.Graph.Initializer.Single(t => t.Name == "w"));
        for (int b = 0; b < 4; b++)
        {
            for (int o = 0; o < 6; o++)
            {
                float absMax = Enumerable.Range(b * 16, 16).Max(k => Math.Abs(weights[(k * 6) + o]));
                entry.Scales[(b * 6) + o].Should().BeApproximately(absMax / 7, 1e-6f, "AIMET's MatMul layout [I/B, O]: block b of output o at b·O + o");
            }
        }

        var imported = AimetEncodingsFile.ForModel([entry], model, config);
        imported["w"].Scales.ToArray().Should().Equal(result.Encodings.Single(e => e.Tensor.Name == "w").Encoding!.Scales.ToArray());

        var (cnn, shape) = Cnn();
        var blocked = OnnxQuantizer.Quantize(cnn, For("x", shape, 4), new QuantizationConfig { Weights = WeightType.Int4, WeightBlockSize = 16, OutlierSmoothing = false });
        FluentActions.Invoking(() => AimetEncodingsFile.ToJson(blocked, AimetEncodingsVersion.Version100)).Should().Throw<ArgumentException>()
            .WithMessage("*ragged*", "3 input channels in blocks of 16 have no AIMET form");
    }

    [Fact]
    public void Conv_blocks_span_the_kernel_window_as_aimet_defines_them_and_round_trip()
    {
        var g = new GraphBuilder(seed: 12);
        string x = g.Input("x", 1, 32, 6, 6);
        g.Output(g.Conv(x, 32, 8, output: "y"), 1, 8, 6, 6);
        var model = g.Build();
        var config = new QuantizationConfig { Weights = WeightType.Int4, WeightBlockSize = 16, OutlierSmoothing = false };
        var result = OnnxQuantizer.Quantize(model, For("x", [1, 32, 6, 6], 4), config);
        var weight = result.Encodings.Single(e => e.Tensor.Role == TensorRole.Weight);
        string name = weight.Tensor.Name;
        var values = TensorData.ToFloats(result.PreparedModel.Graph.Initializer.Single(t => t.Name == name));
        var entry = AimetEncodingsFile.Parse(AimetEncodingsFile.ToJson(result, AimetEncodingsVersion.Version100)).Single(e => e.Name == name);
        entry.Scales.Should().HaveCount(8 * 2, "one scale per (output channel, block of 16 input channels): [O, I/B, 1, 1]");
        for (int o = 0; o < 8; o++)
        {
            for (int b = 0; b < 2; b++)
            {
                // The block: input channels 16b..16b+15 over the whole 3×3 window, contiguous in [O, I, kH, kW].
                float absMax = Enumerable.Range(0, 16 * 9).Max(i => Math.Abs(values[(o * 32 * 9) + (b * 16 * 9) + i]));
                entry.Scales[(o * 2) + b].Should().BeApproximately(absMax / 7, 1e-6f);
            }
        }

        var v2 = JsonNode.Parse(AimetEncodingsFile.ToJson(result, AimetEncodingsVersion.Version200))!["encodings"]!.AsArray().Single(e => e!["name"]!.GetValue<string>() == name)!;
        v2["y_scale"]!.AsArray().Should().HaveCount(8);
        v2["y_scale"]![0]!.AsArray().Should().HaveCount(2);
        v2["y_scale"]![0]![0]!.AsArray().Single()!.AsArray().Should().ContainSingle("[O][I/B][1][1]");
        OnnxQuantizer.Quantize(model, calibrationData: null, config, AimetEncodingsFile.ForModel([entry, .. AimetEncodingsFile.Parse(AimetEncodingsFile.ToJson(result, AimetEncodingsVersion.Version100)).Where(e => e.Name != name)], model, config))
            .Model.ToBytes().Should().Equal(result.Model.ToBytes(), "the window-shared scales expand back to ONNX's [O, I/B, kH, kW]");
    }

    [Fact]
    public void Floating_point_and_lpbq_entries_are_read_and_float_ones_refused_on_import_by_name()
    {
        const string json = """
            {"version": "1.0.0",
             "activation_encodings": [
               {"name": "x", "enc_type": "PER_TENSOR", "dtype": "FLOAT", "bw": 16},
               {"name": "y", "enc_type": "PER_TENSOR", "dtype": "INT", "bw": 8, "is_sym": false, "scale": [0.1], "offset": [-128.0]}],
             "param_encodings": [
               {"name": "fc.weight", "enc_type": "LPBQ", "dtype": "INT", "bw": 8, "compressed_bw": 4, "is_sym": true, "block_size": 32,
                "scale": [0.001, 0.002], "offset": [-128, -128], "per_block_int_scale": [16, 9, 7, 16]}]}
            """;
        var entries = AimetEncodingsFile.Parse(json);
        entries.Should().HaveCount(3);
        entries[0].Type.Should().Be(AimetEncodingType.FloatingPoint);
        entries[0].BitWidth.Should().Be(16);
        entries[1].Offsets.Should().Equal([-128], "offsets written as floats by aimet_onnx are read");
        var lpbq = entries[2];
        lpbq.Type.Should().Be(AimetEncodingType.Lpbq);
        lpbq.CompressedBitWidth.Should().Be(4);
        lpbq.PerBlockIntScales.Should().Equal(16, 9, 7, 16);
        AimetEncodingsFile.Parse(AimetEncodingsFile.ToJson(entries, AimetEncodingsVersion.Version100)).Should().BeEquivalentTo(entries, "re-exported as read");

        var (model, _) = Cnn();
        FluentActions.Invoking(() => AimetEncodingsFile.ForModel(entries, model)).Should().Throw<ArgumentException>().WithMessage("*'x'*float16*");
        FluentActions.Invoking(() => AimetEncodingsFile.Parse(json.Replace("[16, 9, 7, 16]", "[16, 9, 7, 17]", StringComparison.Ordinal)))
            .Should().Throw<InvalidDataException>().WithMessage("*'fc.weight'*");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Lpbq_entries_import_as_the_int4_blocks_they_stand_for(bool transB)
    {
        // A Gemm weight of 3 outputs × 64 inputs in blocks of 32: per channel a float scale, per block an integer scale.
        var g = new Support.GraphBuilder(seed: 9);
        string x = g.Input("x", 1, 64);
        g.Output(g.Gemm(x, 64, 3, transB, output: "y"), 1, 3);
        var model = g.Build();
        string weight = model.Nodes.Single(n => n.OpType == "Gemm").Inputs[1];
        int[] ints = [16, 9, 7, 16, 1, 12];   // [O, I/B] with transB, [I/B, O] without (AIMET's order for the block axis 0)
        float[] channel = [0.001f, 0.002f, 0.0005f];
        string json = $$"""
            {"version": "1.0.0", "activation_encodings": [],
             "param_encodings": [{"name": "{{weight}}", "enc_type": "LPBQ", "dtype": "INT", "bw": 8, "compressed_bw": 4, "is_sym": true,
               "block_size": 32, "scale": [0.001, 0.002, 0.0005], "offset": [-128, -128, -128], "per_block_int_scale": [{{string.Join(", ", ints)}}]}]}
            """;
        var config = new QuantizationConfig { Weights = WeightType.Int4, WeightBlockSize = 32, OutlierSmoothing = false };
        var imported = AimetEncodingsFile.ForModel(AimetEncodingsFile.Parse(json), model, config)[weight];
        imported.Scheme.BitWidth.Should().Be(4);
        imported.Scheme.Granularity.Kind.Should().Be(QuantGranularityKind.PerBlock);
        imported.ZeroPoints.ToArray().Should().OnlyContain(z => z == 0);
        float[] expected = transB
            ? [.. ints.Select((q, k) => q * channel[k / 2])]
            : [.. ints.Select((q, k) => q * channel[k % 3])];
        imported.Scales.ToArray().Should().Equal(expected, "each block's scale is its integer scale times its channel's float scale");

        var result = OnnxQuantizer.Quantize(model, For("x", [1, 64], 4), config, new Dictionary<string, QuantEncoding> { [weight] = imported });
        result.Encodings.Single(e => e.Tensor.Name == weight).Encoding!.Scales.ToArray().Should().Equal(expected, "the QDQ model uses the imported blocks");
    }

    [Fact]
    public void Imported_bit_widths_and_granularities_the_config_does_not_carry_are_refused_by_name()
    {
        var (model, _) = Cnn();
        var sixteen = AimetEncodingsFile.Parse(AimetEncodingsFile.ToJson(Quantize(new QuantizationConfig { Activations = ActivationType.UInt16 }), AimetEncodingsVersion.Version100));
        FluentActions.Invoking(() => AimetEncodingsFile.ForModel(sixteen, model)).Should().Throw<ArgumentException>().WithMessage("*'x' has 16 bits*8*");
        var perTensor = AimetEncodingsFile.Parse(AimetEncodingsFile.ToJson(Quantize(), AimetEncodingsVersion.Version100));
        FluentActions.Invoking(() => AimetEncodingsFile.ForModel(perTensor, model, new QuantizationConfig { PerChannelWeights = false }))
            .Should().Throw<ArgumentException>().WithMessage("*is per-channel*");
    }

    [Theory]
    [InlineData("""{"version": "3.0.0", "encodings": []}""", "*3.0.0*")]
    [InlineData("""{"version": "1.0.0", "activation_encodings": {"x": []}}""", "*list of named entries*")]
    [InlineData("""{"version": "1.0.0", "activation_encodings": [{"name": "x", "enc_type": "VECTOR", "dtype": "INT", "bw": 8, "is_sym": true, "scale": [1], "offset": [0]}]}""", "*'x'*VECTOR*")]
    [InlineData("""{"version": "1.0.0", "activation_encodings": [{"name": "x", "enc_type": "PER_TENSOR", "dtype": "INT", "bw": 8, "is_sym": true, "scale": [1], "offset": [0.5]}]}""", "*'x'*offset 0.5*")]
    [InlineData("""{"version": "2.0.0", "encodings": [{"name": "x", "output_dtype": "uint8", "y_scale": [0.1, 0.2], "y_zero_point": [3]}]}""", "*'x'*2 scales and 1 zero points*")]
    [InlineData("""{"version": "0.6.1", "activation_encodings": {"x": [{"bitwidth": 8, "dtype": "int", "is_symmetric": "False", "offset": -3, "scale": 0}]}}""", "*'x'*positive*")]
    [InlineData("""{"version": "1.0.0", "activation_encodings": [{"name": "x", "dtype": "INT", "dtype": "INT", "bw": 8}]}""", "*dtype*")]
    [InlineData("""{"version": "1.0.0", "activation_encodings": [{"name": "x", "enc_type": "PER_TENSOR", "dtype": "INT", "bw": 8, "is_sym": 1e400, "scale": [1], "offset": [0]}]}""", "*")]
    public void Malformed_files_are_refused_naming_the_entry(string json, string message)
    {
        FluentActions.Invoking(() => AimetEncodingsFile.Parse(json)).Should().Throw<InvalidDataException>().WithMessage(message)
            .Which.Message.Should().NotContain("System.", "JSON types are named in JSON's words");
    }

    [Fact]
    public void Adarounds_bare_parameter_files_and_2_0_0_samples_are_read()
    {
        var bare061 = AimetEncodingsFile.Parse("""{"conv.weight": [{"bitwidth": 4, "dtype": "int", "is_symmetric": "True", "max": 0.7, "min": -0.8, "offset": -8, "scale": 0.1}]}""");
        bare061.Single().Should().Match<AimetTensorEncoding>(e => e.Name == "conv.weight" && e.IsParameter && e.BitWidth == 4 && e.IsSymmetric && !e.IsStrictSymmetric);
        var bare100 = AimetEncodingsFile.Parse("""[{"name": "fc.weight", "enc_type": "PER_CHANNEL", "dtype": "INT", "bw": 8, "is_sym": true, "scale": [0.1, 0.2], "offset": [-127, -127]}]""");
        bare100.Single().IsStrictSymmetric.Should().BeTrue();

        var v2 = AimetEncodingsFile.Parse("""
            {"version": "2.0.0", "producer": {"package": "aimet-onnx", "version": "2.x"},
             "encodings": [
              {"name": "input", "output_dtype": "uint8", "y_scale": 0.0185, "y_zero_point": 114},
              {"name": "conv.weight", "output_dtype": "int8", "y_scale": [0.001, 0.002], "axis": 0},
              {"name": "fc.weight", "output_dtype": "int4", "axis": 1, "block_size": 32, "y_scale": [[0.01, 0.02], [0.03, 0.04]]},
              {"name": "sym_act", "output_dtype": "uint8", "y_scale": 0.5, "y_zero_point": 128}]}
            """);
        v2[0].Offsets.Should().Equal(-114);
        v2[0].IsSymmetric.Should().BeFalse();
        v2[1].Type.Should().Be(AimetEncodingType.PerChannel);
        v2[1].Offsets.Should().Equal(-128, -128);
        v2[1].IsSymmetric.Should().BeTrue();
        v2[2].Type.Should().Be(AimetEncodingType.PerBlock);
        v2[2].ScaleShape.Should().Equal(2, 2);
        v2[2].Scales.Should().Equal(0.01f, 0.02f, 0.03f, 0.04f);
        v2[2].Offsets.Should().Equal(-8, -8, -8, -8);
        v2[3].IsSymmetric.Should().BeTrue("a symmetric activation exported as uint8 has zero point 128");
    }
}
