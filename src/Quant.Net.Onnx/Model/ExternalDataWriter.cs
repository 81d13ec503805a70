using Google.Protobuf;
using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// Writes a model and its external data file (<c>MODEL.onnx.data</c> beside it) through temporary files in the
/// destination folder, moved into place only by <see cref="Commit"/>: tensors can be spilled to the data file one at a
/// time as they are made (so a model larger than memory is written as it goes), and a failure or a writer disposed
/// without a commit leaves nothing behind.
/// </summary>
internal sealed class ExternalDataWriter : IDisposable
{
    private readonly string _path;
    private readonly string _directory;
    private readonly string _tempModel;
    private readonly string _tempData;
    private FileStream? _data;

    /// <summary>Starts writing <paramref name="path"/>; with <paramref name="external"/>, a data file beside it.</summary>
    /// <exception cref="DirectoryNotFoundException">The destination folder does not exist.</exception>
    public ExternalDataWriter(string path, bool external)
    {
        _path = Path.GetFullPath(path);
        _directory = Path.GetDirectoryName(_path) ?? ".";
        if (!Directory.Exists(_directory))
        {
            throw new DirectoryNotFoundException($"Cannot write '{path}': folder '{_directory}' does not exist.");
        }

        DataName = Path.GetFileName(_path) + ".data";
        _tempModel = Path.Combine(_directory, $".{Path.GetFileName(_path)}.{Guid.NewGuid():N}.tmp");
        _tempData = _tempModel + ".data";
        if (external)
        {
            try
            {
                _data = new FileStream(_tempData, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new IOException($"Cannot write '{path}': {e.Message}", e);
            }
        }
    }

    /// <summary>The data file's name as tensors record it (<c>location</c>), relative to the model.</summary>
    public string DataName { get; }

    /// <summary>The full path the data file will have once committed.</summary>
    public string DataPath => Path.Combine(_directory, DataName);

    /// <summary>Bytes written to the data file so far.</summary>
    public long DataBytes => _data?.Length ?? 0;

    /// <summary>Moves <paramref name="tensor"/>'s inline bytes to the data file and points the tensor at them.</summary>
    public void Spill(TensorProto tensor)
    {
        Write(tensor, tensor.RawData.Length, s => tensor.RawData.WriteTo(s));
        tensor.RawData = ByteString.Empty;
    }

    /// <summary>Appends <paramref name="length"/> bytes produced by <paramref name="write"/> as <paramref name="tensor"/>'s data.</summary>
    public void Write(TensorProto tensor, long length, Action<Stream> write)
    {
        var data = _data ?? throw new InvalidOperationException("This writer keeps tensors inline.");
        long offset = (data.Position + ExternalData.Alignment - 1) / ExternalData.Alignment * ExternalData.Alignment;
        data.SetLength(offset);
        data.Position = offset;
        write(data);
        if (data.Position != offset + length)
        {
            throw new InvalidOperationException($"Tensor '{tensor.Name}': {data.Position - offset} bytes written, {length} expected.");
        }

        tensor.ExternalData.Clear();
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = DataName });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
    }

    /// <summary>Writes the model (which must fit protobuf's 2 GiB without its external data) and moves both files into place.</summary>
    /// <exception cref="InvalidOperationException">The graph without its external data still exceeds 2 GiB.</exception>
    /// <exception cref="IOException">The destination cannot be written.</exception>
    public void Commit(ModelProto model)
    {
        try
        {
            if (new OnnxModel(model).SerializedBytes >= OnnxModel.ProtobufLimit)
            {
                throw new InvalidOperationException($"Cannot write '{_path}': the graph itself (without tensor data) exceeds 2 GiB.");
            }

            using (var stream = new FileStream(_tempModel, FileMode.CreateNew, FileAccess.Write))
            {
                model.WriteTo(stream);
            }

            if (_data is not null)
            {
                _data.Dispose();
                _data = null;
                File.Move(_tempData, DataPath, overwrite: true);
            }

            File.Move(_tempModel, _path, overwrite: true);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"Cannot write '{_path}': {e.Message}", e);
        }
    }

    /// <summary>Deletes whatever was not committed.</summary>
    public void Dispose()
    {
        _data?.Dispose();
        _data = null;
        ExternalData.TryDelete(_tempModel);
        ExternalData.TryDelete(_tempData);
    }
}
