using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Quant.Net.Onnx;

/// <summary>One model input's value for one sample: a dense row-major array with its shape.</summary>
public sealed class InputTensor
{
    private InputTensor(Array data, int[] shape, TensorElementType elementType)
    {
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Shape [{string.Join(", ", shape)}] has a negative dimension.", nameof(shape));
            }

            count *= d;
        }

        if (count != data.Length)
        {
            throw new ArgumentException($"Shape [{string.Join(", ", shape)}] holds {count} elements but the data has {data.Length}.", nameof(data));
        }

        Data = data;
        Shape = shape;
        ElementType = elementType;
    }

    /// <summary>The values (float[], long[], int[] or byte[]).</summary>
    public Array Data { get; }

    /// <summary>The dimensions.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>The ONNX element type of <see cref="Data"/>.</summary>
    public TensorElementType ElementType { get; }

    /// <summary>A float32 tensor.</summary>
    public static InputTensor FromFloats(float[] data, params int[] shape) => new(data ?? throw new ArgumentNullException(nameof(data)), shape, TensorElementType.Float);

    /// <summary>An int64 tensor (token ids, indices).</summary>
    public static InputTensor FromInt64(long[] data, params int[] shape) => new(data ?? throw new ArgumentNullException(nameof(data)), shape, TensorElementType.Int64);

    /// <summary>An int32 tensor.</summary>
    public static InputTensor FromInt32(int[] data, params int[] shape) => new(data ?? throw new ArgumentNullException(nameof(data)), shape, TensorElementType.Int32);

    /// <summary>A uint8 tensor (raw image bytes).</summary>
    public static InputTensor FromBytes(byte[] data, params int[] shape) => new(data ?? throw new ArgumentNullException(nameof(data)), shape, TensorElementType.UInt8);

    /// <summary>Concatenates tensors of equal trailing shape along the first dimension (batching).</summary>
    internal static InputTensor Concatenate(IReadOnlyList<InputTensor> parts)
    {
        if (parts.Count == 1)
        {
            return parts[0];
        }

        var first = parts[0];
        int total = parts.Sum(p => p.Data.Length);
        var data = Array.CreateInstance(first.Data.GetType().GetElementType()!, total);
        int offset = 0;
        foreach (var p in parts)
        {
            Array.Copy(p.Data, 0, data, offset, p.Data.Length);
            offset += p.Data.Length;
        }

        var shape = first.Shape.ToArray();
        shape[0] = parts.Sum(p => p.Shape[0]);
        return new InputTensor(data, shape, first.ElementType);
    }

    internal OrtValue ToOrtValue()
    {
        long[] shape = [.. Shape.Select(d => (long)d)];
        return Data switch
        {
            float[] f => OrtValue.CreateTensorValueFromMemory(f, shape),
            long[] l => OrtValue.CreateTensorValueFromMemory(l, shape),
            int[] i => OrtValue.CreateTensorValueFromMemory(i, shape),
            byte[] b => OrtValue.CreateTensorValueFromMemory(b, shape),
            _ => throw new InvalidOperationException($"Unsupported input data {Data.GetType().Name}."),
        };
    }

    /// <inheritdoc/>
    public override string ToString() => $"{ElementType}[{string.Join(", ", Shape)}]";
}
