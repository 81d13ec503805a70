using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// AIMET's deployment route (what its <c>sim.export</c> writes, and what <c>qnn-onnx-converter
/// --quantization_overrides</c> consumes): the FP32 model with the final weights — BatchNorm folded, equalized, smoothed,
/// AdaRounded (exactly on the quantization grid) and bias-corrected — plus encodings whose names are that model's.
/// Re-quantizing the model with those encodings gives back the same integers, so a downstream tool that rounds to
/// nearest keeps AdaRound's choices and the corrected biases.
/// </summary>
public static class AimetExport
{
    /// <summary>
    /// The FP32 model of <paramref name="result"/> with every quantized constant replaced by its dequantized value (as the
    /// QDQ model's DequantizeLinear computes it, run in ONNX Runtime) and every float constant the techniques changed
    /// (biases kept in float) taken from the quantized model.
    /// </summary>
    /// <exception cref="ArgumentException">The result is from dynamic quantization (which has no encodings to pair with).</exception>
    public static OnnxModel Fp32Model(QuantizationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Config.Mode == QuantizationMode.Dynamic)
        {
            throw new ArgumentException("Dynamic quantization has no activation encodings; the AIMET route pairs an FP32 model with static encodings.", nameof(result));
        }

        var fp32 = result.PreparedModel.Clone();
        var targets = fp32.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var quantized = result.Model.Graph;
        var constants = quantized.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);

        // The DequantizeLinear nodes that rebuild a constant of the FP32 model from constant codes, run once in ORT.
        var graph = new GraphProto { Name = "dequantize_constants" };
        var needed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in quantized.Node.Where(n => n.OpType == "DequantizeLinear" && targets.ContainsKey(n.Output[0]) && n.Input.All(i => i.Length == 0 || constants.ContainsKey(i))))
        {
            graph.Node.Add(node.Clone());
            needed.UnionWith(node.Input.Where(i => i.Length > 0));
            graph.Output.Add(new ValueInfoProto
            {
                Name = node.Output[0],
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            });
        }

        if (graph.Node.Count > 0)
        {
            graph.Initializer.Add(needed.Select(n => constants[n].Clone()));
            var proto = new ModelProto { IrVersion = result.Model.IrVersion, ProducerName = "Quant.Net", Graph = graph };
            proto.OpsetImport.Add(result.Model.Proto.OpsetImport.Select(o => o.Clone()));
            using var runner = new ModelRunner(new OnnxModel(proto), intraOpThreads: 1);
            foreach (var (name, (values, _)) in runner.Run(new Dictionary<string, InputTensor>()))
            {
                Replace(fp32.Graph, targets[name], values);
                targets.Remove(name);
            }
        }

        // Float constants the techniques rewrote (a corrected bias kept in float) keep their name in the quantized model.
        foreach (var (name, target) in targets)
        {
            if (constants.TryGetValue(name, out var changed) && changed.DataType == target.DataType && !changed.RawData.Equals(target.RawData))
            {
                Replace(fp32.Graph, target, TensorData.ToFloats(changed));
            }
        }

        return fp32;
    }

    /// <summary>
    /// Writes the FP32 model (<see cref="Fp32Model"/>) and its AIMET encodings, each atomically; the encodings are
    /// written first, so a failure leaves no model without them.
    /// </summary>
    /// <exception cref="ArgumentException">The two paths are the same file, or an encoding has no AIMET form (named).</exception>
    public static void Save(QuantizationResult result, string modelPath, string encodingsPath, AimetEncodingsVersion version = AimetEncodingsVersion.Version100)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        ArgumentException.ThrowIfNullOrEmpty(encodingsPath);
        if (string.Equals(Path.GetFullPath(modelPath), Path.GetFullPath(encodingsPath), StringComparison.Ordinal))
        {
            throw new ArgumentException($"The model and its encodings cannot both be '{modelPath}'.", nameof(encodingsPath));
        }

        var model = Fp32Model(result);
        string json = AimetEncodingsFile.ToJson(result, version);
        AtomicFile.WriteAllText(encodingsPath, json);
        model.Save(modelPath);
    }

    private static void Replace(GraphProto graph, TensorProto target, float[] values)
    {
        var replacement = TensorData.Create<float>(target.Name, values, TensorData.Shape(target));
        graph.Initializer[graph.Initializer.IndexOf(target)] = replacement;
    }
}
