using System.Text.Json.Nodes;
using FluentAssertions;

namespace Quant.Net.Onnx.Tests.Interchange;

/// <summary>
/// AIMET's own example and test encodings (fixtures with AIMET's BSD licence; Data/aimet_encodings/README.md says where
/// each comes from): every QNN encodings file in formats 0.4.0–0.6.1, 1.0.0 and 2.0.0 reads, and written back in its
/// format reads the same, field by field; the same tensors in the three formats read alike; files that are not such
/// files, or carry what no integer grid holds, are refused naming the entry.
/// </summary>
public sealed class AimetExampleEncodingsTests
{
    private static string Fixtures => Path.Combine(AppContext.BaseDirectory, "Interchange", "Data", "aimet_encodings");

    /// <summary>The files AIMET's examples hold that we refuse, with why (the message must say it).</summary>
    private static readonly Dictionary<string, string> Refused = new(StringComparer.Ordinal)
    {
        ["docs_0.4.0_tensorflow_example.json"] = "*'conv2d/Relu:0'[0] has offset 11; AIMET offsets are integers ≤ 0*",   // its offsets contradict its min (−12·scale)
        ["docs_2.0.0_examples.json"] = "*'weight_int2_custom_grid' has y_zero_point -0.5; only integer zero points*",
        ["docs_2.1.0_meta_encoding_examples.json"] = "*version '2.1.0'*",
        ["onnx_encoding_test_2.0.0_float8.json"] = "*'per_tensor_e4m3fn' has output_dtype 'float8e4m3fn'*",
        ["torch_v1_test_0.6.1_torch_module_keyed_NOT_QNN.json"] = "*'conv1' is keyed by input/output: this is aimet_torch's module encodings*",
    };

    private static string[] Names => [.. Directory.GetFiles(Fixtures, "*.json").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    public static TheoryData<string> Files() => [.. Names];

    [Fact]
    public void Nineteen_files_of_which_fourteen_read()
    {
        Names.Should().HaveCount(19);
        Refused.Keys.Should().BeSubsetOf(Names);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_example_reads_and_written_back_in_its_format_reads_the_same(string file)
    {
        string path = Path.Combine(Fixtures, file);
        if (Refused.TryGetValue(file, out string? message))
        {
            FluentActions.Invoking(() => AimetEncodingsFile.Load(path)).Should().Throw<InvalidDataException>().WithMessage(message);
            return;
        }

        var entries = AimetEncodingsFile.Load(path);
        entries.Should().NotBeEmpty(file);
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var version = root["version"]?.GetValue<string>() switch
        {
            "2.0.0" => AimetEncodingsVersion.Version200,
            "1.0.0" => AimetEncodingsVersion.Version100,
            _ => AimetEncodingsVersion.Version061,
        };
        int named = version == AimetEncodingsVersion.Version200 ? root["encodings"]!.AsArray().Count
            : version == AimetEncodingsVersion.Version100 ? Section(root, "activation_encodings")?.AsArray().Count + Section(root, "param_encodings")?.AsArray().Count ?? 0
            : (Section(root, "activation_encodings")?.AsObject().Count ?? 0) + (Section(root, "param_encodings")?.AsObject().Count ?? 0);
        entries.Should().HaveCount(named, $"{file}: one entry per tensor");

        var again = AimetEncodingsFile.Parse(AimetEncodingsFile.ToJson(entries, version));
        again.Should().HaveCount(entries.Count);
        foreach (var (e, a) in entries.Zip(again))
        {
            string because = $"{file}: {e.Name}";
            a.Name.Should().Be(e.Name, because);
            a.Type.Should().Be(e.Type, because);
            a.BitWidth.Should().Be(e.BitWidth, because);
            a.IsSymmetric.Should().Be(e.IsSymmetric, because);
            a.IsStrictSymmetric.Should().Be(e.IsStrictSymmetric, because);
            a.Scales.Should().Equal(e.Scales, because);
            a.Offsets.Should().Equal(e.Offsets, because);
            a.BlockSize.Should().Be(e.BlockSize, because);
            a.CompressedBitWidth.Should().Be(e.CompressedBitWidth, because);
            (a.PerBlockIntScales ?? []).Should().Equal(e.PerBlockIntScales ?? [], because);
            if (version != AimetEncodingsVersion.Version200)
            {
                a.IsParameter.Should().Be(e.IsParameter, because);
            }
        }
    }

    private static JsonNode? Section(JsonObject root, string key) => root[key];

    [Fact]
    public void The_same_tensors_in_the_three_formats_read_alike()
    {
        var byVersion = new[] { "0.6.1", "1.0.0", "2.0.0" }
            .Select(v => AimetEncodingsFile.Load(Path.Combine(Fixtures, $"assembled_crossversion_{v}.json")).Where(e => e.Type != AimetEncodingType.FloatingPoint).ToDictionary(e => e.Name))
            .ToList();
        byVersion[0].Keys.Should().BeEquivalentTo(byVersion[2].Keys, "2.0.0 has no entry for float16 tensors");
        foreach (var name in byVersion[0].Keys)
        {
            var (a, b, c) = (byVersion[0][name], byVersion[1][name], byVersion[2][name]);
            foreach (var other in new[] { b, c })
            {
                other.BitWidth.Should().Be(a.BitWidth, name);
                other.Scales.Should().Equal(a.Scales, name);
                other.Offsets.Should().Equal(a.Offsets, name);
                other.IsSymmetric.Should().Be(a.IsSymmetric, name);
                other.IsStrictSymmetric.Should().Be(a.IsStrictSymmetric, name);
            }
        }

        byVersion[2]["strict_sym8"].IsStrictSymmetric.Should().BeTrue("aimet_onnx writes AIMET's strict grid (offset −127) as int8 with zero point −1");
        byVersion[0]["asym16"].Offsets.Should().Equal(-1000);
        AimetEncodingsFile.Load(Path.Combine(Fixtures, "assembled_crossversion_1.0.0.json")).Should().Contain(e => e.Type == AimetEncodingType.FloatingPoint && e.BitWidth == 16);
    }

    [Fact]
    public void Lpbq_in_1_0_0_and_2_0_0_is_the_same_tensor()
    {
        var v1 = AimetEncodingsFile.Load(Path.Combine(Fixtures, "onnx_qcop_test_1.0.0_lpbq.json")).Single();
        var v2 = AimetEncodingsFile.Load(Path.Combine(Fixtures, "onnx_qcop_test_2.0.0_lpbq.json")).Single();
        foreach (var e in new[] { v1, v2 })
        {
            e.Type.Should().Be(AimetEncodingType.Lpbq);
            e.CompressedBitWidth.Should().Be(4);
            e.BitWidth.Should().Be(8);
            e.BlockSize.Should().Be(3);
            e.PerBlockIntScales.Should().Equal(16, 11, 1, 16, 3, 5);
            e.Scales.Should().Equal(0.1f, 1f);
        }
    }
}
