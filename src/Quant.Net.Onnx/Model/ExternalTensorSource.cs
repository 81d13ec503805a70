using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// A model loaded without its large external tensors: their bytes stay in the data files, memory-mapped and read one
/// tensor at a time when asked, so a model larger than memory can be transformed tensor by tensor.
/// </summary>
internal sealed class ExternalTensorSource : IDisposable
{
    private readonly Dictionary<TensorProto, ExternalRange> _lazy;
    private readonly Dictionary<string, MemoryMappedFile> _maps = new(StringComparer.Ordinal);

    private ExternalTensorSource(OnnxModel model, Dictionary<TensorProto, ExternalRange> lazy, IReadOnlySet<string> files)
    {
        Model = model;
        _lazy = lazy;
        Files = files;
    }

    /// <summary>The model; tensors still in their files have no data until <see cref="Materialize"/>.</summary>
    public OnnxModel Model { get; }

    /// <summary>Every external data file the model refers to (full paths), whether its tensors were read or left lazy.</summary>
    public IReadOnlySet<string> Files { get; }

    /// <summary>Bytes of tensor data still in the files.</summary>
    public long LazyBytes => _lazy.Values.Sum(r => r.Length);

    /// <summary>Reads <paramref name="path"/>; external tensors of at least <paramref name="lazyFrom"/> bytes stay in their files.</summary>
    /// <exception cref="FileNotFoundException">The model does not exist.</exception>
    /// <exception cref="OnnxFormatException">The model is not valid ONNX, or its external data is missing or out of range.</exception>
    public static ExternalTensorSource Open(string path, long lazyFrom = 1 << 20)
    {
        var (model, lazy, files) = OnnxModel.LoadStructure(path, lazyFrom);
        return new ExternalTensorSource(model, lazy, files);
    }

    /// <summary>Whether <paramref name="tensor"/>'s bytes are still in its file.</summary>
    public bool IsLazy(TensorProto tensor) => _lazy.ContainsKey(tensor);

    /// <summary>The tensor's values as float32, read from its file (a mapped view, released after) or from memory.</summary>
    public float[] ReadFloats(TensorProto tensor)
    {
        if (!_lazy.TryGetValue(tensor, out var range))
        {
            return TensorData.ToFloats(tensor);
        }

        if ((TensorProto.Types.DataType)tensor.DataType != TensorProto.Types.DataType.Float)
        {
            Materialize(tensor);
            return TensorData.ToFloats(tensor);
        }

        long count = TensorData.ElementCount(tensor);
        if (count * sizeof(float) != range.Length)
        {
            throw new OnnxFormatException($"Tensor '{tensor.Name}' holds {range.Length} bytes of external data; its shape needs {count * sizeof(float)}.");
        }

        var values = new float[count];
        using (var view = Map(range))
        {
            view.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
        }

        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("External data is little-endian.");
        }

        return values;
    }

    /// <summary>Brings a lazy tensor's bytes into memory (as if it had been loaded normally).</summary>
    public void Materialize(TensorProto tensor)
    {
        if (!_lazy.Remove(tensor, out var range))
        {
            return;
        }

        var bytes = new byte[range.Length];
        using (var view = Map(range))
        {
            view.ReadExactly(bytes);
        }

        tensor.RawData = UnsafeByteOperations.UnsafeWrap(bytes);
        tensor.ExternalData.Clear();
        tensor.DataLocation = TensorProto.Types.DataLocation.Default;
    }

    /// <summary>Copies a lazy tensor's bytes to <paramref name="writer"/>'s data file in chunks and points the tensor there.</summary>
    public void CopyTo(TensorProto tensor, ExternalDataWriter writer)
    {
        if (!_lazy.Remove(tensor, out var range))
        {
            throw new InvalidOperationException($"Tensor '{tensor.Name}' is not in an external file.");
        }

        using var view = Map(range);
        writer.Write(tensor, range.Length, s => view.CopyTo(s, 1 << 20));
    }

    private MemoryMappedViewStream Map(ExternalRange range)
    {
        if (!_maps.TryGetValue(range.File, out var map))
        {
            map = MemoryMappedFile.CreateFromFile(range.File, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            _maps[range.File] = map;
        }

        return map.CreateViewStream(range.Offset, range.Length, MemoryMappedFileAccess.Read);
    }

    public void Dispose()
    {
        foreach (var map in _maps.Values)
        {
            map.Dispose();
        }

        _maps.Clear();
    }
}
