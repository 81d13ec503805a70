using System.Globalization;
using Quant.Net.Onnx;

namespace Quant.Net.Benchmarks.Onnx;

/// <summary>
/// `dotnet run -c Release -- cle-report`: the DFQ paper's failure case built in code (a conv whose output channels span
/// four orders of magnitude, BatchNorm, ReLU, a conv that compensates) quantized W8A8 per-tensor without and with
/// cross-layer equalization; output SQNR vs FP32 on 64 random inputs.
/// </summary>
internal static class CleReport
{
    public static void Run(OnnxModel model, Func<int, int, ICalibrationDataSource> samples)
    {
        var calibration = samples(64, 2);
        var test = samples(64, 9);
        using var fp32 = new ModelRunner(model);
        Console.WriteLine("| weights | CLE | output SQNR vs FP32 |");
        Console.WriteLine("| --- | --- | ---: |");
        foreach (bool perChannel in new[] { false, true })
        {
            foreach (bool cle in new[] { false, true })
            {
                var result = OnnxQuantizer.Quantize(model, calibration, new QuantizationConfig { PerChannelWeights = perChannel, CrossLayerEqualization = cle });
                using var q = new ModelRunner(result.Model);
                double signal = 0, noise = 0;
                foreach (var sample in test.GetSamples())
                {
                    var r = fp32.Run(sample)[fp32.OutputNames[0]].Data;
                    var y = q.Run(sample)[q.OutputNames[0]].Data;
                    for (int i = 0; i < r.Length; i++)
                    {
                        signal += r[i] * (double)r[i];
                        noise += (y[i] - r[i]) * (double)(y[i] - r[i]);
                    }
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| W8A8 {(perChannel ? "per-channel" : "per-tensor")} | {(cle ? "yes" : "no")} | {10 * Math.Log10(signal / noise):F1} dB |"));
            }
        }
    }
}

/// <summary>The wild-channel-range model of <see cref="CleReport"/>, built with the adapter's protobuf types.</summary>
internal static class WildChannelModel
{
    public static OnnxModel Build()
    {
        var random = new Random(21);
        float Next() => (float)((random.NextDouble() * 2) - 1);
        var model = new Quant.Net.Onnx.Protobuf.ModelProto { IrVersion = 7, Graph = new Quant.Net.Onnx.Protobuf.GraphProto { Name = "cle" } };
        model.OpsetImport.Add(new Quant.Net.Onnx.Protobuf.OperatorSetIdProto { Domain = "", Version = 13 });
        var g = model.Graph;
        float[] factors = [0.005f, 0.02f, 0.1f, 0.5f, 1f, 3f, 10f, 30f];
        var w1 = Enumerable.Range(0, 8 * 4 * 9).Select(i => Next() * 0.5f * factors[i / 36]).ToArray();
        var w2 = Enumerable.Range(0, 6 * 8 * 9).Select(i => Next() * 0.5f / factors[(i / 9) % 8]).ToArray();
        g.Initializer.Add(TensorData.Create<float>("w1", w1, [8, 4, 3, 3]));
        g.Initializer.Add(TensorData.Create<float>("b1", [.. Enumerable.Range(0, 8).Select(_ => Next() * 0.2f)], [8]));
        g.Initializer.Add(TensorData.Create<float>("w2", w2, [6, 8, 3, 3]));
        g.Initializer.Add(TensorData.Create<float>("b2", [.. Enumerable.Range(0, 6).Select(_ => Next() * 0.2f)], [6]));
        g.Initializer.Add(TensorData.Create<float>("gamma", [.. Enumerable.Range(0, 8).Select(_ => 0.5f + Math.Abs(Next()))], [8]));
        g.Initializer.Add(TensorData.Create<float>("beta", [.. Enumerable.Range(0, 8).Select(_ => Next() * 0.5f)], [8]));
        g.Initializer.Add(TensorData.Create<float>("mean", [.. Enumerable.Range(0, 8).Select(_ => Next() * 0.5f)], [8]));
        g.Initializer.Add(TensorData.Create<float>("var", [.. Enumerable.Range(0, 8).Select(_ => 0.2f + Math.Abs(Next()))], [8]));
        Quant.Net.Onnx.Protobuf.NodeProto Node(string op, string[] inputs, string output)
        {
            var n = new Quant.Net.Onnx.Protobuf.NodeProto { OpType = op, Name = output + "_node" };
            n.Input.Add(inputs);
            n.Output.Add(output);
            if (op == "Conv")
            {
                var pads = new Quant.Net.Onnx.Protobuf.AttributeProto { Name = "pads", Type = Quant.Net.Onnx.Protobuf.AttributeProto.Types.AttributeType.Ints };
                pads.Ints.Add([1, 1, 1, 1]);
                n.Attribute.Add(pads);
            }

            return n;
        }

        g.Node.Add(Node("Conv", ["x", "w1", "b1"], "c1"));
        g.Node.Add(Node("BatchNormalization", ["c1", "gamma", "beta", "mean", "var"], "bn"));
        g.Node.Add(Node("Relu", ["bn"], "r1"));
        g.Node.Add(Node("Conv", ["r1", "w2", "b2"], "c2"));
        g.Node.Add(Node("Relu", ["c2"], "y"));
        var input = new Quant.Net.Onnx.Protobuf.ValueInfoProto { Name = "x", Type = new Quant.Net.Onnx.Protobuf.TypeProto { TensorType = new Quant.Net.Onnx.Protobuf.TypeProto.Types.Tensor { ElemType = 1, Shape = new Quant.Net.Onnx.Protobuf.TensorShapeProto() } } };
        foreach (long d in new long[] { 1, 4, 8, 8 })
        {
            input.Type.TensorType.Shape.Dim.Add(new Quant.Net.Onnx.Protobuf.TensorShapeProto.Types.Dimension { DimValue = d });
        }

        g.Input.Add(input);
        g.Output.Add(new Quant.Net.Onnx.Protobuf.ValueInfoProto { Name = "y", Type = new Quant.Net.Onnx.Protobuf.TypeProto { TensorType = new Quant.Net.Onnx.Protobuf.TypeProto.Types.Tensor { ElemType = 1 } } });
        return OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(model));
    }

    public static ICalibrationDataSource Samples(int count, int seed)
    {
        var random = new Random(seed);
        return InMemoryCalibrationData.ForSingleInput("x", Enumerable.Range(0, count).Select(_ =>
            InputTensor.FromFloats([.. Enumerable.Range(0, 256).Select(_ => (float)((random.NextDouble() * 2) - 1) * 2)], 1, 4, 8, 8)));
    }
}
