using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Onnx;

public sealed class CalibrationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qn-cal-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static OnnxModel DynamicBatchConv()
    {
        var g = new GraphBuilder(seed: 3);
        string x = g.Input("x", 0, 2, 6, 6);
        g.Output(g.Node("Relu", [g.Conv(x, 2, 4)], "y"), 0, 4, 6, 6);
        return g.Build();
    }

    [Fact]
    public void Batched_and_one_by_one_calibration_give_the_same_encodings_and_report_progress()
    {
        var model = DynamicBatchConv();
        var data = Samples.For("x", [1, 2, 6, 6], 37, scale: 3f);
        var progress = new List<QuantizationProgress>();
        var batched = OnnxQuantizer.Quantize(model, data, new QuantizationConfig { CalibrationBatchSize = 16 }, progress: new SyncProgress(progress));
        var single = OnnxQuantizer.Quantize(model, data, new QuantizationConfig { CalibrationBatchSize = 1 });

        batched.Encodings.Select(e => (e.Tensor.Name, e.Encoding?.Scales.ToArray().Sum(), e.Encoding?.ZeroPoints.ToArray().Sum()))
            .Should().Equal(single.Encodings.Select(e => (e.Tensor.Name, e.Encoding?.Scales.ToArray().Sum(), e.Encoding?.ZeroPoints.ToArray().Sum())));
        progress.Select(p => p.Done).Should().Equal(0, 16, 32, 37);
        progress.Should().OnlyContain(p => p.Total == 37 && p.Stage == "calibration");
    }

    [Fact]
    public void Every_observer_kind_produces_a_runnable_model()
    {
        var model = DynamicBatchConv();
        var data = Samples.For("x", [1, 2, 6, 6], 8);
        foreach (var kind in Enum.GetValues<ObserverKind>())
        {
            var result = OnnxQuantizer.Quantize(model, data, new QuantizationConfig { Observer = kind });
            using var runner = new ModelRunner(result.Model);
            runner.Run(data.GetSamples().First())["y"].Data.Should().OnlyContain(v => float.IsFinite(v), kind.ToString());
        }
    }

    [Fact]
    public void Samples_with_wrong_names_shapes_or_types_are_rejected_naming_the_input()
    {
        var model = DynamicBatchConv();
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(model, InMemoryCalibrationData.ForSingleInput("image", [InputTensor.FromFloats(new float[72], 1, 2, 6, 6)])))
            .Should().Throw<InvalidDataException>().WithMessage("*'image'*does not have*");
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(model, InMemoryCalibrationData.ForSingleInput("x", [InputTensor.FromFloats(new float[75], 1, 3, 5, 5)])))
            .Should().Throw<InvalidDataException>().WithMessage("*'x' has shape [1, 3, 5, 5]*");
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(model, InMemoryCalibrationData.ForSingleInput("x", [InputTensor.FromInt64(new long[72], 1, 2, 6, 6)])))
            .Should().Throw<InvalidDataException>().WithMessage("*'x' is INT64*FLOAT*");
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(model, new InMemoryCalibrationData([])))
            .Should().Throw<InvalidDataException>().WithMessage("*no samples*");
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(model, null)).Should().Throw<ArgumentNullException>().WithMessage("*calibration*");
    }

    [Fact]
    public void Calibration_can_be_cancelled()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(DynamicBatchConv(), Samples.For("x", [1, 2, 6, 6], 8), cancellationToken: cts.Token))
            .Should().Throw<OperationCanceledException>();
    }

    [Fact]
    public void A_folder_of_npy_files_is_read_per_input_and_checked()
    {
        var model = DynamicBatchConv();
        var random = new Random(1);
        for (int i = 0; i < 5; i++)
        {
            NpyFile.Write(Path.Combine(_dir, $"x.{i:D3}.npy"), [.. Enumerable.Range(0, 72).Select(_ => (float)random.NextDouble())], [1, 2, 6, 6]);
        }

        var data = FolderCalibrationData.Open(_dir, model);
        data.Count.Should().Be(5);
        var first = data.GetSamples().First();
        first["x"].Shape.Should().Equal(1, 2, 6, 6);
        NpyFile.Read(Path.Combine(_dir, "x.000.npy")).Floats().Should().Equal(first["x"].Floats());
        OnnxQuantizer.Quantize(model, data).Model.Nodes.Should().Contain(n => n.OpType == "QuantizeLinear");

        File.WriteAllBytes(Path.Combine(_dir, "x.bad.npy"), [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 4, 0, (byte)'{', (byte)'}', 0, 0]);
        FluentActions.Invoking(() => OnnxQuantizer.Quantize(model, FolderCalibrationData.Open(_dir, model))).Should().Throw<InvalidDataException>().WithMessage("*x.bad.npy*");
    }

    [Fact]
    public void Raw_float32_files_take_the_inputs_shape_and_wrong_sizes_are_named()
    {
        var model = DynamicBatchConv();
        var values = Enumerable.Range(0, 72).Select(i => i / 72f).ToArray();
        File.WriteAllBytes(Path.Combine(_dir, "x.a.raw"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        var sample = FolderCalibrationData.Open(_dir, model).GetSamples().Single()["x"];
        sample.Shape.Should().Equal(1, 2, 6, 6);
        sample.Floats().Should().Equal(values);

        File.WriteAllBytes(Path.Combine(_dir, "x.b.bin"), new byte[100]);
        FluentActions.Invoking(() => FolderCalibrationData.Open(_dir, model).GetSamples().ToList()).Should().Throw<InvalidDataException>()
            .WithMessage("*x.b.bin*100 bytes*288*");
    }

    [Fact]
    public void Multi_input_npy_folders_need_every_input_per_sample()
    {
        var g = new GraphBuilder();
        g.Output(g.Node("Add", [g.Input("a", 1, 4), g.Input("b", 1, 4)], "y"));
        var model = g.Build();
        NpyFile.Write(Path.Combine(_dir, "a.s1.npy"), [1, 2, 3, 4], [1, 4]);
        NpyFile.Write(Path.Combine(_dir, "b.s1.npy"), [1, 2, 3, 4], [1, 4]);
        NpyFile.Write(Path.Combine(_dir, "a.s2.npy"), [1, 2, 3, 4], [1, 4]);
        FluentActions.Invoking(() => FolderCalibrationData.Open(_dir, model)).Should().Throw<InvalidDataException>().WithMessage("*'s2'*b*");
        File.Delete(Path.Combine(_dir, "a.s2.npy"));
        var result = OnnxQuantizer.Quantize(model, FolderCalibrationData.Open(_dir, model));
        result.Encodings.Select(e => e.Tensor.Name).Should().Contain(["a", "b", "y"]);
    }

    [Fact]
    public void An_image_folder_is_decoded_resized_and_normalized_for_the_input()
    {
        var g = new GraphBuilder();
        g.Output(g.Node("Relu", [g.Conv(g.Input("img", 1, 3, 8, 8), 3, 2)], "y"));
        var model = g.Build();
        Bmp.Write(Path.Combine(_dir, "a.bmp"), 16, 16, (x, y) => (255, 0, 0));
        Bmp.Write(Path.Combine(_dir, "b.bmp"), 5, 7, (x, y) => ((byte)(x * 50), (byte)(y * 30), 128));
        var data = FolderCalibrationData.Open(_dir, model, mean: [0.5f], std: [0.5f]);
        var red = data.GetSamples().First()["img"];
        red.Shape.Should().Equal(1, 3, 8, 8);
        red.Floats()[..64].Should().OnlyContain(v => Math.Abs(v - 1f) < 1e-6f, "red 255 -> 1 -> (1 - 0.5) / 0.5");
        red.Floats()[64..].Should().OnlyContain(v => Math.Abs(v + 1f) < 1e-6f);
        OnnxQuantizer.Quantize(model, data).QuantizedNodes.Should().NotBeEmpty();

        File.WriteAllText(Path.Combine(_dir, "c.png"), "not an image");
        FluentActions.Invoking(() => FolderCalibrationData.Open(_dir, model).GetSamples().ToList()).Should().Throw<InvalidDataException>().WithMessage("*c.png*");
    }

    private sealed class SyncProgress(List<QuantizationProgress> into) : IProgress<QuantizationProgress>
    {
        public void Report(QuantizationProgress value) => into.Add(value);
    }

    [Fact]
    public void Mean_and_std_are_validated_and_refused_for_npy_samples()
    {
        var g = new Support.GraphBuilder(seed: 3);
        g.Output(g.Conv(g.Input("x", 1, 1, 8, 8), 1, 2, output: "y"), 1, 2, 8, 8);
        var model = g.Build();
        var input = model.Inputs[0];
        FluentActions.Invoking(() => ImagePreprocessing.ForInput(input, std: [0f])).Should().Throw<ArgumentException>().WithMessage("std values must be finite and positive; got 0*");
        FluentActions.Invoking(() => ImagePreprocessing.ForInput(input, std: [float.NaN])).Should().Throw<ArgumentException>().WithMessage("*finite*");
        FluentActions.Invoking(() => ImagePreprocessing.ForInput(input, mean: [0.1f, 0.2f, 0.3f])).Should().Throw<ArgumentException>()
            .WithMessage("mean takes one value or one per channel (1 for this input); got 3.*");
        ImagePreprocessing.ForInput(input, mean: [0.5f], std: [0.25f]).Should().NotBeNull();

        string folder = Directory.CreateDirectory(Path.Combine(_dir, "npy")).FullName;
        NpyFile.Write(Path.Combine(folder, "a.npy"), new float[64], [1, 1, 8, 8]);
        FluentActions.Invoking(() => FolderCalibrationData.Open(folder, model, mean: [0.5f])).Should().Throw<ArgumentException>().WithMessage("*normalize image files*.npy*");
        FolderCalibrationData.Open(folder, model).Count.Should().Be(1);
    }

    [Fact]
    public void A_cut_or_empty_bmp_is_refused_instead_of_read_as_black_pixels()
    {
        string full = Path.Combine(_dir, "full.bmp"), cut = Path.Combine(_dir, "cut.bmp"), header = Path.Combine(_dir, "header.bmp"), empty = Path.Combine(_dir, "empty.bmp");
        Bmp.Write(full, 8, 8, (x, y) => ((byte)x, (byte)y, 0));
        ImagePreprocessing.Decode(full).Width.Should().Be(8);
        var bytes = File.ReadAllBytes(full);
        File.WriteAllBytes(cut, bytes[..100]);
        File.WriteAllBytes(header, bytes[..30]);
        var zeroWidth = bytes[..54];
        BitConverter.TryWriteBytes(zeroWidth.AsSpan(18), 0);
        File.WriteAllBytes(empty, zeroWidth);
        FluentActions.Invoking(() => ImagePreprocessing.Decode(cut)).Should().Throw<InvalidDataException>().WithMessage("*'cut.bmp' is a truncated BMP (100 bytes; its 8 × 8 × 24-bit pixels need 246)*");
        FluentActions.Invoking(() => ImagePreprocessing.Decode(header)).Should().Throw<InvalidDataException>().WithMessage("*'header.bmp' is a truncated BMP*");
        FluentActions.Invoking(() => ImagePreprocessing.Decode(empty)).Should().Throw<InvalidDataException>().WithMessage("*'empty.bmp'*");
    }

    [Fact]
    public async Task Files_that_stream_forever_or_block_are_read_as_empty_never_opened_or_read_to_the_end()
    {
        // A FIFO blocks in open until a writer comes; a device reports 0 bytes and never ends. Both read as empty at once.
        string fifo = Path.Combine(_dir, "x.0.npy");
        if (!Fuzz.FuzzFiles.MakeFifo(fifo))
        {
            return;
        }

        var read = Task.Run(() => FluentActions.Invoking(() => NpyFile.Read(fifo)).Should().Throw<InvalidDataException>(), TestContext.Current.CancellationToken);
        (await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken))).Should().BeSameAs(read, "a FIFO is not opened");
        await read;
        string config = Path.Combine(_dir, "config.json");
        File.CreateSymbolicLink(config, "/dev/zero");
        FluentActions.Invoking(() => QuantizationConfig.Load(config)).Should().Throw<ArgumentException>().WithMessage("Invalid quantization config*", "read as empty, not until memory runs out");
        string model = Path.Combine(_dir, "model.onnx");
        File.CreateSymbolicLink(model, "/dev/urandom");
        FluentActions.Invoking(() => OnnxModel.Load(model)).Should().Throw<OnnxFormatException>().WithMessage("*model.onnx' is not an ONNX model: it is empty (or not a regular file)*");
        FluentActions.Invoking(() => NpyFile.Read(Path.Combine(_dir, "missing.npy"))).Should().Throw<InvalidDataException>().WithMessage("'missing.npy' does not exist.");
    }

    [Fact]
    public void A_truncated_jpeg_is_refused_at_once_and_a_damaged_one_that_hangs_the_decoder_times_out()
    {
        string truncated = Path.Combine(_dir, "truncated.jpg");
        File.WriteAllBytes(truncated, [0xFF, 0xD8, 0xFF, 0xE0, 0xB3, 0x46]);
        FluentActions.Invoking(() => ImagePreprocessing.Decode(truncated)).Should().Throw<InvalidDataException>().WithMessage("*'truncated.jpg' is a truncated JPEG*");
        File.WriteAllBytes(Path.Combine(_dir, "truncated.png"), [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, 0, 0]);
        FluentActions.Invoking(() => ImagePreprocessing.Decode(Path.Combine(_dir, "truncated.png"))).Should().Throw<InvalidDataException>().WithMessage("*truncated PNG*");

        // With its end marker the same bytes send the decoder into a loop: the time limit turns that into an error. In a
        // child process, because the decoder's thread cannot be stopped and would spin on in this one.
        string folder = Directory.CreateDirectory(Path.Combine(_dir, "images")).FullName, output = Path.Combine(_dir, "out.onnx");
        File.WriteAllBytes(Path.Combine(folder, "damaged.jpg"), [0xFF, 0xD8, 0xFF, 0xE0, 0xB3, 0x46, 0xFF, 0xD9]);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var g = new Support.GraphBuilder(seed: 2);
        g.Output(g.Conv(g.Input("x", 1, 3, 8, 8), 3, 4, output: "y"), 1, 4, 8, 8);
        string model = Path.Combine(_dir, "model.onnx");
        g.Build().Save(model);
        var (code, text) = Support.CliProcess.Run(null, "quantize", model, "--calibration", folder, "--output", output);
        code.Should().Be(1, text);
        text.Should().Contain("'damaged.jpg' did not decode within 10 s");
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(120), "an error, not a hang");
        File.Exists(output).Should().BeFalse("nothing is written when calibration fails");
    }
}

/// <summary>Writes 24-bit BMP files (a format the image decoder reads and tests can produce without a library).</summary>
internal static class Bmp
{
    public static void Write(string path, int width, int height, Func<int, int, (byte R, byte G, byte B)> pixel)
    {
        int stride = ((width * 3) + 3) & ~3;
        var bytes = new byte[54 + (stride * height)];
        bytes[0] = (byte)'B';
        bytes[1] = (byte)'M';
        BitConverter.TryWriteBytes(bytes.AsSpan(2), bytes.Length);
        BitConverter.TryWriteBytes(bytes.AsSpan(10), 54);
        BitConverter.TryWriteBytes(bytes.AsSpan(14), 40);
        BitConverter.TryWriteBytes(bytes.AsSpan(18), width);
        BitConverter.TryWriteBytes(bytes.AsSpan(22), height);
        BitConverter.TryWriteBytes(bytes.AsSpan(26), (short)1);
        BitConverter.TryWriteBytes(bytes.AsSpan(28), (short)24);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = pixel(x, height - 1 - y);
                int o = 54 + (y * stride) + (x * 3);
                bytes[o] = b;
                bytes[o + 1] = g;
                bytes[o + 2] = r;
            }
        }

        File.WriteAllBytes(path, bytes);
    }
}
