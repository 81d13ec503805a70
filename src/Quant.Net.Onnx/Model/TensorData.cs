using System.Runtime.InteropServices;
using Google.Protobuf;
using Quant.Net.Onnx.Protobuf;
using DataType = Quant.Net.Onnx.Protobuf.TensorProto.Types.DataType;

namespace Quant.Net.Onnx;

/// <summary>Reading and writing <see cref="TensorProto"/> contents (little-endian raw data or typed fields).</summary>
internal static class TensorData
{
    public static int[] Shape(TensorProto tensor)
    {
        var shape = new int[tensor.Dims.Count];
        long count = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            long d = tensor.Dims[i];
            if (d < 0 || d > int.MaxValue)
            {
                throw new OnnxFormatException($"Tensor '{tensor.Name}' has an invalid dimension {d}.");
            }

            shape[i] = (int)d;
            count *= d;
            if (count > Array.MaxLength)
            {
                throw new OnnxFormatException($"Tensor '{tensor.Name}' has more elements than .NET arrays can hold.");
            }
        }

        return shape;
    }

    public static int ElementCount(TensorProto tensor) => Shape(tensor).Aggregate(1, (a, b) => a * b);

    public static long ByteSize(TensorProto tensor)
    {
        if (!tensor.RawData.IsEmpty)
        {
            return tensor.RawData.Length;
        }

        long n = tensor.Dims.Aggregate(1L, (a, b) => a * b);
        return (DataType)tensor.DataType switch
        {
            DataType.Int4 or DataType.Uint4 => (n + 1) / 2,
            var t => n * ElementSize(t),
        };
    }

    public static int ElementSize(DataType type) => type switch
    {
        DataType.Float or DataType.Int32 or DataType.Uint32 => 4,
        DataType.Double or DataType.Int64 or DataType.Uint64 => 8,
        DataType.Float16 or DataType.Bfloat16 or DataType.Int16 or DataType.Uint16 => 2,
        _ => 1,
    };

    /// <summary>The tensor's values as float32 (from FLOAT, DOUBLE, FLOAT16, or integer types).</summary>
    public static float[] ToFloats(TensorProto tensor)
    {
        int n = ElementCount(tensor);
        var type = (DataType)tensor.DataType;
        var result = new float[n];
        var raw = tensor.RawData.Span;
        bool hasRaw = !tensor.RawData.IsEmpty;
        int rawLength = raw.Length;
        void CheckRaw(int elementSize)
        {
            if (rawLength != (long)n * elementSize)
            {
                throw new OnnxFormatException($"Tensor '{tensor.Name}' holds {rawLength} bytes of data; its shape needs {(long)n * elementSize}.");
            }
        }

        void CheckCount(int count)
        {
            if (count != n)
            {
                throw new OnnxFormatException($"Tensor '{tensor.Name}' holds {count} values; its shape needs {n}.");
            }
        }

        switch (type)
        {
            case DataType.Float when hasRaw:
                CheckRaw(4);
                MemoryMarshal.Cast<byte, float>(raw).CopyTo(result);
                break;
            case DataType.Float:
                CheckCount(tensor.FloatData.Count);
                tensor.FloatData.CopyTo(result, 0);
                break;
            case DataType.Double when hasRaw:
                CheckRaw(8);
                for (int i = 0; i < n; i++)
                {
                    result[i] = (float)MemoryMarshal.Cast<byte, double>(raw)[i];
                }

                break;
            case DataType.Double:
                CheckCount(tensor.DoubleData.Count);
                for (int i = 0; i < n; i++)
                {
                    result[i] = (float)tensor.DoubleData[i];
                }

                break;
            case DataType.Float16 when hasRaw:
                CheckRaw(2);
                for (int i = 0; i < n; i++)
                {
                    result[i] = (float)MemoryMarshal.Cast<byte, Half>(raw)[i];
                }

                break;
            case DataType.Float16:
                CheckCount(tensor.Int32Data.Count);
                for (int i = 0; i < n; i++)
                {
                    result[i] = (float)BitConverter.UInt16BitsToHalf((ushort)tensor.Int32Data[i]);
                }

                break;
            case DataType.Int64 or DataType.Int32 or DataType.Int16 or DataType.Uint16 or DataType.Int8 or DataType.Uint8:
                var longs = ToInt64(tensor);
                for (int i = 0; i < n; i++)
                {
                    result[i] = longs[i];
                }

                break;
            default:
                throw new OnnxFormatException($"Tensor '{tensor.Name}' has element type {type}; a floating-point tensor was expected.");
        }

        return result;
    }

    /// <summary>The tensor's values as int64 (from INT64, INT32, INT16, UINT16, INT8 or UINT8).</summary>
    public static long[] ToInt64(TensorProto tensor)
    {
        int n = ElementCount(tensor);
        var type = (DataType)tensor.DataType;
        var raw = tensor.RawData.Span;
        if (type == DataType.Int64)
        {
            if (!tensor.RawData.IsEmpty)
            {
                return raw.Length == n * 8L ? MemoryMarshal.Cast<byte, long>(raw).ToArray()
                    : throw new OnnxFormatException($"Tensor '{tensor.Name}' holds {raw.Length} bytes; its shape needs {n * 8L}.");
            }

            return tensor.Int64Data.Count == n ? [.. tensor.Int64Data]
                : throw new OnnxFormatException($"Tensor '{tensor.Name}' holds {tensor.Int64Data.Count} values; its shape needs {n}.");
        }

        if (type == DataType.Int32)
        {
            if (!tensor.RawData.IsEmpty)
            {
                return raw.Length == n * 4L ? [.. MemoryMarshal.Cast<byte, int>(raw).ToArray().Select(v => (long)v)]
                    : throw new OnnxFormatException($"Tensor '{tensor.Name}' holds {raw.Length} bytes; its shape needs {n * 4L}.");
            }

            return [.. tensor.Int32Data.Select(v => (long)v)];
        }

        if (type is DataType.Int8 or DataType.Uint8 or DataType.Int16 or DataType.Uint16)
        {
            int size = ElementSize(type);
            if (tensor.RawData.IsEmpty)
            {
                // Small integer types are stored widened in int32_data.
                return tensor.Int32Data.Count == n ? [.. tensor.Int32Data.Select(v => (long)v)]
                    : throw new OnnxFormatException($"Tensor '{tensor.Name}' holds {tensor.Int32Data.Count} values; its shape needs {n}.");
            }

            if (raw.Length != (long)n * size)
            {
                throw new OnnxFormatException($"Tensor '{tensor.Name}' holds {raw.Length} bytes; its shape needs {(long)n * size}.");
            }

            var values = new long[n];
            for (int i = 0; i < n; i++)
            {
                values[i] = type switch
                {
                    DataType.Int8 => (sbyte)raw[i],
                    DataType.Uint8 => raw[i],
                    DataType.Int16 => MemoryMarshal.Cast<byte, short>(raw)[i],
                    _ => MemoryMarshal.Cast<byte, ushort>(raw)[i],
                };
            }

            return values;
        }

        throw new OnnxFormatException($"Tensor '{tensor.Name}' has element type {type}; an integer tensor was expected.");
    }

    public static TensorProto Create<T>(string name, ReadOnlySpan<T> values, ReadOnlySpan<int> shape)
        where T : unmanaged
    {
        var type = typeof(T) == typeof(float) ? DataType.Float
            : typeof(T) == typeof(sbyte) ? DataType.Int8
            : typeof(T) == typeof(byte) ? DataType.Uint8
            : typeof(T) == typeof(short) ? DataType.Int16
            : typeof(T) == typeof(ushort) ? DataType.Uint16
            : typeof(T) == typeof(int) ? DataType.Int32
            : typeof(T) == typeof(long) ? DataType.Int64
            : throw new NotSupportedException($"No ONNX element type for {typeof(T).Name}.");
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values)) };
        foreach (int d in shape)
        {
            tensor.Dims.Add(d);
        }

        return tensor;
    }

    /// <summary>A packed 4-bit tensor (two values per byte, low nibble first, as ONNX stores INT4/UINT4).</summary>
    public static TensorProto CreateInt4(string name, ReadOnlySpan<byte> packed, ReadOnlySpan<int> shape, bool isSigned)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)(isSigned ? DataType.Int4 : DataType.Uint4), RawData = ByteString.CopyFrom(packed) };
        foreach (int d in shape)
        {
            tensor.Dims.Add(d);
        }

        return tensor;
    }

    /// <summary>The transpose of a row-major [rows, columns] matrix.</summary>
    public static T[] Transpose<T>(T[] data, int rows, int columns)
    {
        var t = new T[data.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                t[(c * rows) + r] = data[(r * columns) + c];
            }
        }

        return t;
    }

    public static TensorProto Scalar<T>(string name, T value)
        where T : unmanaged => Create<T>(name, [value], []);
}
