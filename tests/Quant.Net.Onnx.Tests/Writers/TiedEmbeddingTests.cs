using FluentAssertions;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Quant.Net.Kernels;
using Quant.Net.Onnx.Protobuf;
using static Quant.Net.Onnx.Tests.Support.ProtoBuilder;

namespace Quant.Net.Onnx.Tests.Onnx;

/// <summary>An embedding table tied to the LM head, read from the head's MatMulNBits weights: exact, stored once.</summary>
public sealed class TiedEmbeddingTests
{
    /// <summary>ids [2, 5] → Gather(E [V, K]) → embeddings; x [1, K] → MatMul(Eᵀ) → logits (the exporter's two copies).</summary>
    private static (OnnxModel Model, float[] Table) TiedModel(int vocabulary, int k, bool tied)
    {
        var random = new Random(vocabulary + k);
        var table = Enumerable.Range(0, vocabulary * k).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var head = TensorData.Transpose(table, vocabulary, k);
        if (!tied)
        {
            head[7] += 1e-3f;
        }

        var graph = new GraphProto { Name = "tied" };
        graph.Input.Add(Value("ids", TensorProto.Types.DataType.Int64, 2, 5));
        graph.Input.Add(Value("x", TensorProto.Types.DataType.Float, 1, k));
        graph.Output.Add(Value("embeddings", TensorProto.Types.DataType.Float, 2, 5, k));
        graph.Output.Add(Value("logits", TensorProto.Types.DataType.Float, 1, vocabulary));
        graph.Initializer.Add(TensorData.Create<float>("tokens.weight", table, [vocabulary, k]));
        graph.Initializer.Add(TensorData.Create<float>("head.weight", head, [k, vocabulary]));
        graph.Node.Add(Node("Gather", "embed", ["tokens.weight", "ids"], "embeddings"));
        graph.Node.Add(Node("MatMul", "head", ["x", "head.weight"], "logits"));
        var proto = new ModelProto { IrVersion = 8, ProducerName = "test", Graph = graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return (OnnxModel.FromBytes(proto.ToByteArray()), table);
    }

    [Theory]
    [InlineData(4, 32, 96)]
    [InlineData(4, 32, 70)]
    [InlineData(8, 16, 40)]
    public void The_tied_table_is_read_from_the_heads_packed_weights_exactly_and_stored_once(int bits, int blockSize, int k)
    {
        const int vocabulary = 50;
        var (model, table) = TiedModel(vocabulary, k, tied: true);
        var result = WeightOnlyQuantizer.Quantize(model, new WeightOnlyOptions { Blocks = new BlockQuantizationOptions { Bits = bits, BlockSize = blockSize } });
        result.TiedEmbeddings.Should().Equal("embed");
        result.QuantizedNodes.Should().Equal("head", "embed");
        result.Model.InitializerNames.Should().NotContain(n => n.StartsWith("tokens.weight", StringComparison.Ordinal), "no copy of the table is stored");
        result.Model.InitializerBytes.Should().BeLessThan(result.Weights["head"].StorageBytes + 200, "the head's codes and scales plus a few shape constants");

        long[] ids = [0, 49, 7, 7, 23, 1, 2, 3, 48, 10];
        using var session = new InferenceSession(result.Model.ToBytes());
        using var idValue = OrtValue.CreateTensorValueFromMemory(ids, [2, 5]);
        using var xValue = OrtValue.CreateTensorValueFromMemory(new float[k], [1, k]);
        using var outputs = session.Run(new RunOptions(), ["ids", "x"], [idValue, xValue], ["embeddings"]);
        var embeddings = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        outputs[0].GetTensorTypeAndShape().Shape.Should().Equal(2, 5, k);

        // What the head's MatMulNBits multiplies by: row v of W [N = V, K], dequantized.
        var w = result.Weights["head"].Dequantize();
        var expected = ids.SelectMany(id => w.AsSpan((int)id * k, k).ToArray()).ToArray();
        embeddings.Should().Equal(expected, "each gathered row is (code − middle) · scale, as the head reads it");
        double error = expected.Select((v, i) => Math.Abs(v - table[((int)ids[i / k] * k) + (i % k)])).Max();
        error.Should().BeLessThan(bits == 4 ? 0.1 : 0.01, "and close to the float table");
    }

    [Fact]
    public void Tables_that_are_not_exactly_the_heads_transpose_or_asked_untied_get_their_own_int8_copy()
    {
        var (model, _) = TiedModel(50, 64, tied: false);
        var result = WeightOnlyQuantizer.Quantize(model);
        result.TiedEmbeddings.Should().BeEmpty();
        result.QuantizedNodes.Should().Equal("head", "embed");
        result.Model.InitializerNames.Should().Contain("tokens.weight_quantized");

        var (tiedModel, _) = TiedModel(50, 64, tied: true);
        WeightOnlyQuantizer.Quantize(tiedModel, new WeightOnlyOptions { ShareTiedEmbeddings = false }).TiedEmbeddings.Should().BeEmpty();
        WeightOnlyQuantizer.Quantize(tiedModel, new WeightOnlyOptions { Blocks = new BlockQuantizationOptions { Symmetric = false } }).TiedEmbeddings
            .Should().BeEmpty("MatMulNBits' packed zero points are not decoded: asymmetric heads keep their own table");
        WeightOnlyQuantizer.Quantize(tiedModel, new WeightOnlyOptions { Format = WeightOnlyFormat.DequantizeLinear }).TiedEmbeddings.Should().BeEmpty();
    }
}
