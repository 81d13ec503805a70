using Microsoft.ML.OnnxRuntime;

namespace Quant.Net.Onnx;

/// <summary>One model input's value for one sample: a dense row-major array with its shape.</summary>
public sealed class InputTensor
{
    private InputTensor(Array data, int[] shape, InputElementType elementType)
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

    /// <summary>The values (float[], long[], int[] or byte[]); read them typed through <see cref="AsSpan{T}"/>.</summary>
    internal Array Data { get; }

    /// <summary>Number of elements.</summary>
    public int Length => Data.Length;

    /// <summary>The dimensions.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>The element type (the ONNX type of the input it feeds).</summary>
    public InputElementType ElementType { get; }

    /// <summary>The values, row-major, as <typeparamref name="T"/>: <see cref="float"/>, <see cref="long"/>, <see cref="int"/> or <see cref="byte"/> as <see cref="ElementType"/> says.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> is not the tensor's element type (the message names both).</exception>
    public ReadOnlySpan<T> AsSpan<T>() where T : unmanaged =>
        Data is T[] values ? values : throw new InvalidOperationException($"This tensor holds {ElementType} values, not {typeof(T).Name}.");

    /// <summary>A float32 tensor.</summary>
    public static InputTensor FromFloats(float[] data, params int[] shape) => new(data ?? throw new ArgumentNullException(nameof(data)), shape, InputElementType.Float);

    /// <summary>An int64 tensor (token ids, indices).</summary>
    public static InputTensor FromInt64(long[] data, params int[] shape) => new(data ?? throw new ArgumentNullException(nameof(data)), shape, InputElementType.Int64);

    /// <summary>An int32 tensor.</summary>
    public static InputTensor FromInt32(int[] data, params int[] shape) => new(data ?? throw new ArgumentNullException(nameof(data)), shape, InputElementType.Int32);

    /// <summary>A uint8 tensor (raw image bytes).</summary>
    public static InputTensor FromBytes(byte[] data, params int[] shape) => new(data ?? throw new ArgumentNullException(nameof(data)), shape, InputElementType.UInt8);

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

    /// <summary>For example "Float[1, 1, 28, 28]".</summary>
    public override string ToString() => $"{ElementType}[{string.Join(", ", Shape)}]";
}
