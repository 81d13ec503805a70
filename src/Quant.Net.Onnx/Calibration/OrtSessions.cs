using Microsoft.ML.OnnxRuntime;
using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>Creates ONNX Runtime sessions for in-memory models, turning load failures into errors that name the model.</summary>
internal static partial class OrtSessions
{
    public static InferenceSession Create(OnnxModel model, SessionOptions? options = null, string what = "model")
    {
        string? tempDir = null;
        try
        {
            if (model.SerializedBytes < OnnxModel.ProtobufLimit)
            {
                return options is null ? new InferenceSession(model.ToBytes()) : new InferenceSession(model.ToBytes(), options);
            }

            tempDir = Directory.CreateTempSubdirectory("quantnet-").FullName;
            string path = Path.Combine(tempDir, "model.onnx");
            model.Save(path, new OnnxSaveOptions { UseExternalData = true });
            return options is null ? new InferenceSession(path) : new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new OnnxFormatException($"ONNX Runtime cannot load the {what}: {Describe(e)}", e);
        }
        finally
        {
            if (tempDir is not null)
            {
                try
                {
                    Directory.Delete(tempDir, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    /// <summary>A copy of the model whose outputs also include the given float tensors.</summary>
    public static OnnxModel WithOutputs(OnnxModel model, IEnumerable<string> tensors)
    {
        var copy = model.Clone();
        var existing = copy.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            if (existing.Add(t))
            {
                copy.Graph.Output.Add(new ValueInfoProto
                {
                    Name = t,
                    Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
                });
            }
        }

        return copy;
    }

    /// <summary>Checks one sample against the model's inputs: names, element types, ranks and fixed dimensions.</summary>
    public static void Validate(IReadOnlyDictionary<string, InputTensor> sample, IReadOnlyList<OnnxValueInfo> inputs, int index)
    {
        ArgumentNullException.ThrowIfNull(sample);
        foreach (var name in sample.Keys)
        {
            if (!inputs.Any(i => i.Name == name))
            {
                throw new InvalidDataException($"Calibration sample {index} has input '{name}', which the model does not have (inputs: {string.Join(", ", inputs.Select(i => i.Name))}).");
            }
        }

        foreach (var input in inputs)
        {
            if (!sample.TryGetValue(input.Name, out var tensor) || tensor is null)
            {
                throw new InvalidDataException($"Calibration sample {index} has no value for model input '{input.Name}'.");
            }

            string type = tensor.ElementType.ToString().ToUpperInvariant();
            if (type != input.ElementType)
            {
                throw new InvalidDataException($"Calibration sample {index}: input '{input.Name}' is {type}; the model expects {input.ElementType}.");
            }

            bool fits = tensor.Shape.Count == input.Shape.Count && input.Shape.Select((d, k) => d is null || d == tensor.Shape[k]).All(x => x);
            if (!fits)
            {
                throw new InvalidDataException($"Calibration sample {index}: input '{input.Name}' has shape [{string.Join(", ", tensor.Shape)}]; the model expects {input}.");
            }
        }
    }

    /// <summary>Samples grouped into batches along dimension 0 where every input's batch dimension is free.</summary>
    public static IEnumerable<(IReadOnlyDictionary<string, InputTensor> Batch, int Samples)> Batches(
        ICalibrationDataSource source, IReadOnlyList<OnnxValueInfo> inputs, int batchSize, CancellationToken cancellationToken)
    {
        bool canBatch = batchSize > 1 && inputs.All(i => i.Shape.Count > 0 && i.Shape[0] is null);
        var pending = new List<IReadOnlyDictionary<string, InputTensor>>();
        int index = 0;
        IReadOnlyDictionary<string, InputTensor> Merge() => inputs.ToDictionary(i => i.Name, i => InputTensor.Concatenate([.. pending.Select(p => p[i.Name])]), StringComparer.Ordinal);
        bool SameTrailing(IReadOnlyDictionary<string, InputTensor> a, IReadOnlyDictionary<string, InputTensor> b) =>
            inputs.All(i => a[i.Name].Shape.Skip(1).SequenceEqual(b[i.Name].Shape.Skip(1)));
        foreach (var sample in source.GetSamples(cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            Validate(sample, inputs, index++);
            if (!canBatch)
            {
                yield return (sample, 1);
                continue;
            }

            if (pending.Count > 0 && (!SameTrailing(pending[0], sample) || pending.Count == batchSize))
            {
                yield return (Merge(), pending.Count);
                pending.Clear();
            }

            pending.Add(sample);
        }

        if (pending.Count > 0)
        {
            yield return (Merge(), pending.Count);
        }
    }

    /// <summary>
    /// ONNX Runtime's message without its C++ source locations and function signatures (what users act on is the text
    /// after them): "[ErrorCode:Fail] Load model failed:/…/model.cc:181 onnxruntime::Model::Model(…) Unsupported IR
    /// version" becomes "Load model failed: Unsupported IR version".
    /// </summary>
    internal static string Describe(OnnxRuntimeException e) => Describe(e.Message);

    internal static string Describe(string message)
    {
        string text = ErrorCode().Replace(message, "");
        text = SourceLocation().Replace(text, " ");
        text = Signature().Replace(text, "");
        return Spaces().Replace(text, " ").Trim();
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\s*\[ErrorCode:[A-Za-z]+\]\s*")]
    private static partial System.Text.RegularExpressions.Regex ErrorCode();

    // A source location with or without its folders: "/onnxruntime_src/…/model.cc:181 " and "nchwc_ops.cc:166 ".
    [System.Text.RegularExpressions.GeneratedRegex(@"(?<=[\s:]|^)[^\s:]*\.(?:cc|cpp|h|hpp|cu):\d+\s*")]
    private static partial System.Text.RegularExpressions.Regex SourceLocation();

    [System.Text.RegularExpressions.GeneratedRegex(@"(?:[A-Za-z_][\w<>,]*::)+~?[A-Za-z_]\w*\((?:[^()]|\([^()]*\))*\)(?:\s*const)?\s*")]
    private static partial System.Text.RegularExpressions.Regex Signature();

    [System.Text.RegularExpressions.GeneratedRegex(@"\s{2,}")]
    private static partial System.Text.RegularExpressions.Regex Spaces();
}
