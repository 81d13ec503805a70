using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Quant.Net.Onnx.Tests.Support;

/// <summary>
/// Runs a model in ONNX Runtime for bit-for-bit comparisons: inputs are copied into ONNX Runtime's own (aligned)
/// memory, because some of its kernels choose their summation order from the input's alignment, which a managed array
/// does not fix; outputs come back as element type, shape and raw bytes.
/// </summary>
internal static class OrtExact
{
    public static Dictionary<string, (string Type, long[] Shape, byte[] Bytes)> Run(byte[] model, IReadOnlyDictionary<string, InputTensor> inputs, IReadOnlyList<string> outputs,
        GraphOptimizationLevel level = GraphOptimizationLevel.ORT_ENABLE_ALL)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = level, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        var values = new List<OrtValue>();
        try
        {
            foreach (var (name, tensor) in inputs)
            {
                long[] shape = [.. tensor.Shape.Select(d => (long)d)];
                OrtValue value;
                switch (tensor.Data)
                {
                    case float[] f:
                        value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, shape);
                        f.CopyTo(value.GetTensorMutableDataAsSpan<float>());
                        break;
                    case long[] l:
                        value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Int64, shape);
                        l.CopyTo(value.GetTensorMutableDataAsSpan<long>());
                        break;
                    default:
                        throw new NotSupportedException($"input '{name}': {tensor.ElementType}");
                }

                values.Add(value);
            }

            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, [.. inputs.Keys], values, outputs);
            return outputs.Select((n, i) => (n, v: results[i])).ToDictionary(
                p => p.n,
                p => (p.v.GetTensorTypeAndShape().ElementDataType.ToString(), p.v.GetTensorTypeAndShape().Shape, p.v.GetTensorMutableRawData().ToArray()));
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }
}
