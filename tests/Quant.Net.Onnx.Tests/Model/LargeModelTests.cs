using FluentAssertions;
using Google.Protobuf;
using Quant.Net.Onnx.Protobuf;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Onnx;

/// <summary>A model above protobuf's 2 GiB limit: saved with external data, loaded back, run in ONNX Runtime.</summary>
public sealed class LargeModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qn-large-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_model_over_2_GiB_round_trips_through_external_data_and_runs()
    {
        const int n = 290_000_000; // 1.16 GB per tensor, 2.32 GB in all
        var g = new GraphBuilder();
        string x = g.Input("x", n);
        var ones = new byte[n * 4L];
        new Span<byte>(ones).Clear();
        var t1 = new TensorProto { Name = "a", DataType = (int)TensorProto.Types.DataType.Float, RawData = UnsafeByteOperations.UnsafeWrap(ones) };
        t1.Dims.Add(n);
        var t2 = t1.Clone();
        t2.Name = "b";
        g.Graph.Initializer.Add(t1);
        g.Graph.Initializer.Add(t2);
        g.Output(g.Node("Add", [g.Node("Add", [x, "a"]), "b"], "y"), n);
        var model = g.Build();
        model.SerializedBytes.Should().BeGreaterThan(int.MaxValue);
        FluentActions.Invoking(() => model.ToBytes()).Should().Throw<InvalidOperationException>().WithMessage("*2 GiB*");

        string path = Path.Combine(_dir, "large.onnx");
        model.Save(path);
        new FileInfo(path).Length.Should().BeLessThan(1 << 20, "the tensors went to the data file");
        new FileInfo(path + ".data").Length.Should().BeGreaterThan(int.MaxValue);

        var loaded = OnnxModel.Load(path);
        loaded.InitializerBytes.Should().Be(2L * n * 4);
        using var runner = new ModelRunner(loaded);
        var input = new float[n];
        input[123] = 5f;
        runner.Run(new Dictionary<string, InputTensor> { ["x"] = InputTensor.FromFloats(input, n) })["y"].Data[123].Should().Be(5f);
    }
}
