using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// A model loaded without its large external tensors: their bytes stay in the data files and are read one tensor at a
/// time when asked (positional reads into a reused buffer, so the process holds one tensor, not the page cache of a
/// mapping), so a model larger than memory can be transformed tensor by tensor.
/// </summary>
internal sealed class ExternalTensorSource : IDisposable
{
    private readonly Dictionary<TensorProto, ExternalRange> _lazy;
    private readonly Dictionary<string, SafeFileHandle> _files = new(StringComparer.Ordinal);

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

    /// <summary>The tensor's values as float32, read from its file or from memory (a new array).</summary>
    public float[] ReadFloats(TensorProto tensor)
    {
        float[]? buffer = null;
        return ReadFromFile(tensor, ref buffer) ? buffer! : TensorData.ToFloats(tensor);
    }

    /// <summary>
    /// The tensor's values as float32; a float tensor still in its file is read into <paramref name="buffer"/> (grown
    /// when too small), so that a loop over layers reuses one buffer.
    /// </summary>
    public ReadOnlySpan<float> ReadFloats(TensorProto tensor, ref float[]? buffer) =>
        ReadFromFile(tensor, ref buffer) ? buffer.AsSpan(0, TensorData.ElementCount(tensor)) : TensorData.ToFloats(tensor);

    /// <summary>
    /// Reads a float32 tensor still in its file into <paramref name="buffer"/> (allocated to fit, or grown) and returns
    /// true; false when the tensor's values are in memory (other element types are brought in first).
    /// </summary>
    private bool ReadFromFile(TensorProto tensor, ref float[]? buffer)
    {
        if (!_lazy.TryGetValue(tensor, out var range))
        {
            return false;
        }

        if ((TensorProto.Types.DataType)tensor.DataType != TensorProto.Types.DataType.Float || !BitConverter.IsLittleEndian)
        {
            Materialize(tensor);
            return false;
        }

        int count = TensorData.ElementCount(tensor);
        if ((long)count * sizeof(float) != range.Length)
        {
            throw new OnnxFormatException($"Tensor '{tensor.Name}' holds {range.Length} bytes of external data; its shape needs {(long)count * sizeof(float)}.");
        }

        if (buffer is null || buffer.Length < count)
        {
            buffer = new float[count];
        }

        ReadExactly(range, MemoryMarshal.AsBytes(buffer.AsSpan(0, count)));
        return true;
    }

    /// <summary>Brings a lazy tensor's bytes into memory (as if it had been loaded normally).</summary>
    public void Materialize(TensorProto tensor)
    {
        if (!_lazy.Remove(tensor, out var range))
        {
            return;
        }

        var bytes = new byte[range.Length];
        ReadExactly(range, bytes);

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

        writer.Write(tensor, range.Length, stream =>
        {
            var chunk = new byte[1 << 20];
            for (long done = 0; done < range.Length; done += chunk.Length)
            {
                var part = chunk.AsSpan(0, (int)Math.Min(chunk.Length, range.Length - done));
                ReadExactly(range with { Offset = range.Offset + done, Length = part.Length }, part);
                stream.Write(part);
            }
        });
    }

    private void ReadExactly(ExternalRange range, Span<byte> destination)
    {
        if (!_files.TryGetValue(range.File, out var handle))
        {
            handle = File.OpenHandle(range.File, FileMode.Open, FileAccess.Read, FileShare.Read);
            _files[range.File] = handle;
        }

        for (int done = 0; done < destination.Length;)
        {
            int read = RandomAccess.Read(handle, destination[done..], range.Offset + done);
            if (read == 0)
            {
                throw new OnnxFormatException($"External data file '{Path.GetFileName(range.File)}' ended before byte {range.Offset + range.Length}.");
            }

            done += read;
        }
    }

    public void Dispose()
    {
        foreach (var handle in _files.Values)
        {
            handle.Dispose();
        }

        _files.Clear();
    }
}
