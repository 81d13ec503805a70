using System.Security.Cryptography;
using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Onnx;

public sealed class ModelIoTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qn-io-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static OnnxModel ConvModel() => QdqPatternTests.Build("conv-relu").Model;

    [Fact]
    public void Save_and_load_round_trip_inline_and_with_external_data()
    {
        var model = ConvModel();
        string inline = Path.Combine(_dir, "inline.onnx"), external = Path.Combine(_dir, "external.onnx");
        model.Save(inline);
        model.Save(external, new OnnxSaveOptions { UseExternalData = true, ExternalDataThreshold = 16 });

        File.Exists(external + ".data").Should().BeTrue();
        new FileInfo(external).Length.Should().BeLessThan(new FileInfo(inline).Length);
        OnnxModel.Load(inline).ToBytes().Should().Equal(model.ToBytes());
        OnnxModel.Load(external).ToBytes().Should().Equal(model.ToBytes(), "external tensors are read back in");
        Directory.GetFiles(_dir, "*.tmp").Should().BeEmpty();
    }

    [Fact]
    public void Garbage_and_truncated_files_give_a_format_error_naming_the_file()
    {
        string garbage = Path.Combine(_dir, "garbage.onnx"), truncated = Path.Combine(_dir, "truncated.onnx");
        File.WriteAllBytes(garbage, [.. Enumerable.Range(0, 300).Select(i => (byte)(i * 37))]);
        var bytes = ConvModel().ToBytes();
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);

        FluentActions.Invoking(() => OnnxModel.Load(garbage)).Should().Throw<OnnxFormatException>().WithMessage("*garbage.onnx*");
        FluentActions.Invoking(() => OnnxModel.Load(truncated)).Should().Throw<OnnxFormatException>().WithMessage("*truncated.onnx*");
        FluentActions.Invoking(() => OnnxModel.Load(Path.Combine(_dir, "missing.onnx"))).Should().Throw<FileNotFoundException>();
    }

    [Fact]
    public void Missing_or_escaping_external_data_is_reported_with_the_tensor_name()
    {
        string path = Path.Combine(_dir, "ext.onnx");
        ConvModel().Save(path, new OnnxSaveOptions { UseExternalData = true, ExternalDataThreshold = 16 });
        File.Delete(path + ".data");
        FluentActions.Invoking(() => OnnxModel.Load(path)).Should().Throw<OnnxFormatException>().WithMessage("*Tensor 'w*external data file*missing*");

        var model = ConvModel();
        var w = model.Proto.Graph.Initializer[0];
        w.DataLocation = Protobuf.TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new Protobuf.StringStringEntryProto { Key = "location", Value = "../../etc/passwd" });
        File.WriteAllBytes(path, model.ToBytes());
        FluentActions.Invoking(() => OnnxModel.Load(path)).Should().Throw<OnnxFormatException>().WithMessage("*outside the model's folder*");
    }

    [Fact]
    public void An_unwritable_destination_fails_cleanly_and_leaves_no_partial_file()
    {
        string missingFolder = Path.Combine(_dir, "no-such-folder", "out.onnx");
        FluentActions.Invoking(() => ConvModel().Save(missingFolder)).Should().Throw<IOException>().WithMessage("*no-such-folder*");

        // A destination that is an existing folder cannot be replaced by a file (fails even for root, unlike permission bits).
        string folder = Path.Combine(_dir, "taken");
        Directory.CreateDirectory(folder);
        FluentActions.Invoking(() => ConvModel().Save(folder)).Should().Throw<IOException>();
        Directory.Exists(folder).Should().BeTrue();

        Directory.GetFiles(_dir, "*.tmp", SearchOption.AllDirectories).Should().BeEmpty();
    }

    [Fact]
    public void Quantizing_never_modifies_the_input_model_or_its_file()
    {
        string path = Path.Combine(_dir, "input.onnx");
        var (model, shape) = QdqPatternTests.Build("conv-relu");
        model.Save(path);
        byte[] hash = SHA256.HashData(File.ReadAllBytes(path));
        var loaded = OnnxModel.Load(path);
        byte[] before = loaded.ToBytes();

        OnnxQuantizer.Quantize(loaded, Samples.For("x", shape, 4));

        loaded.ToBytes().Should().Equal(before);
        SHA256.HashData(File.ReadAllBytes(path)).Should().Equal(hash);
    }
}
