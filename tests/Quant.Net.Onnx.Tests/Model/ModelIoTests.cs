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

    [Theory]
    [InlineData("99999999999999999999", "16", "*'99999999999999999999' is not a non-negative 64-bit integer*")]
    [InlineData("-4", "16", "*'-4' is not a non-negative*")]
    [InlineData("9223372036854775800", "100", "*range*outside*")]
    [InlineData("0", "9223372036854775807", "*range*outside*")]
    public void External_data_offsets_and_lengths_are_checked_without_overflow(string offset, string length, string message)
    {
        string path = Path.Combine(_dir, "ext.onnx");
        var model = ConvModel();
        model.Save(path, new OnnxSaveOptions { UseExternalData = true, ExternalDataThreshold = 16 });
        var saved = Protobuf.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var tensor = saved.Graph.Initializer.First(t => t.DataLocation == Protobuf.TensorProto.Types.DataLocation.External);
        tensor.ExternalData.Single(e => e.Key == "offset").Value = offset;
        tensor.ExternalData.Single(e => e.Key == "length").Value = length;
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(saved));
        FluentActions.Invoking(() => OnnxModel.Load(path)).Should().Throw<OnnxFormatException>().WithMessage(message);
    }

    [Fact]
    public void External_data_behind_a_link_leading_outside_the_model_folder_is_refused()
    {
        string outside = Directory.CreateTempSubdirectory("qn-outside-").FullName;
        try
        {
            string inner = Directory.CreateDirectory(Path.Combine(_dir, "model")).FullName, path = Path.Combine(inner, "ext.onnx");
            ConvModel().Save(path, new OnnxSaveOptions { UseExternalData = true, ExternalDataThreshold = 16 });
            File.Move(path + ".data", Path.Combine(outside, "ext.onnx.data"));
            File.CreateSymbolicLink(path + ".data", Path.Combine(outside, "ext.onnx.data"));
            FluentActions.Invoking(() => OnnxModel.Load(path)).Should().Throw<OnnxFormatException>().WithMessage("*link to a file outside the model's folder*");

            File.Delete(path + ".data");
            File.Move(Path.Combine(outside, "ext.onnx.data"), Path.Combine(inner, "real.data"));
            File.CreateSymbolicLink(path + ".data", "real.data");
            OnnxModel.Load(path).ToBytes().Should().Equal(ConvModel().ToBytes(), "a link that stays inside the folder is fine");
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void Npy_headers_with_huge_dimensions_and_endless_special_files_are_refused_without_crashing()
    {
        byte[] Npy(string shape)
        {
            string header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({shape}), }}";
            header = header.PadRight(118) + "\n";
            return [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0, .. System.Text.Encoding.ASCII.GetBytes(header), .. new byte[16]];
        }

        FluentActions.Invoking(() => NpyFile.Parse(Npy("4294967296, 1"))).Should().Throw<InvalidDataException>().WithMessage("*dimension 0 is '4294967296'*");
        FluentActions.Invoking(() => NpyFile.Parse(Npy("2147483647, 2147483647, 2147483647"))).Should().Throw<InvalidDataException>().WithMessage("*does not fit*");
        NpyFile.Parse(Npy("2, 2")).Shape.Should().Equal(2, 2);

        if (File.Exists("/dev/zero"))
        {
            string link = Path.Combine(_dir, "endless.npy");
            File.CreateSymbolicLink(link, "/dev/zero");
            FluentActions.Invoking(() => NpyFile.Read(link)).Should().Throw<InvalidDataException>().WithMessage("*endless.npy*", "read by its reported size (0), not forever");
        }
    }

    [Fact]
    public void Names_defined_twice_are_refused_naming_the_tensor()
    {
        var model = ConvModel();
        var proto = model.Proto.Clone();
        var first = proto.Graph.Initializer[0];
        var duplicate = first.Clone();
        duplicate.RawData = Google.Protobuf.ByteString.CopyFrom(new byte[first.RawData.Length]);
        proto.Graph.Initializer.Add(duplicate);
        FluentActions.Invoking(() => OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(proto))).Should().Throw<OnnxFormatException>()
            .WithMessage($"*initializer '{first.Name}' is defined twice*");

        proto = model.Proto.Clone();
        var node = proto.Graph.Node[^1].Clone();
        node.Name = "again";
        proto.Graph.Node.Add(node);
        FluentActions.Invoking(() => OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(proto))).Should().Throw<OnnxFormatException>()
            .WithMessage($"*'{node.Output[0]}' is produced twice*'again'*");
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
