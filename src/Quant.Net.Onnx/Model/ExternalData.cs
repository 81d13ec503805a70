using Google.Protobuf;
using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// ONNX external data: tensors whose bytes live in a side file (<c>location</c>, <c>offset</c>, <c>length</c> keys).
/// Read in at load; written out at save when asked or when the model would exceed protobuf's 2 GiB limit.
/// </summary>
internal static class ExternalData
{
    /// <summary>Alignment of each tensor in a data file we write, so that runtimes can memory-map it.</summary>
    public const int Alignment = 4096;

    /// <summary>Reads every external tensor of <paramref name="graph"/> into memory.</summary>
    public static void ReadInto(GraphProto graph, string? directory, string source) => ReadInto(graph, directory, source, lazyFrom: long.MaxValue);

    /// <summary>
    /// Reads external tensors below <paramref name="lazyFrom"/> bytes into memory; larger ones are checked (file inside
    /// the model's folder, range inside the file) and left where they are, returned with their resolved ranges.
    /// </summary>
    public static Dictionary<TensorProto, ExternalRange> ReadInto(GraphProto graph, string? directory, string source, long lazyFrom, ISet<string>? files = null)
    {
        var lazy = new Dictionary<TensorProto, ExternalRange>(ReferenceEqualityComparer.Instance);
        var open = new Dictionary<string, FileStream>(StringComparer.Ordinal);
        try
        {
            foreach (var tensor in AllTensors(graph))
            {
                if (tensor.DataLocation != TensorProto.Types.DataLocation.External)
                {
                    continue;
                }

                var keys = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
                if (!keys.TryGetValue("location", out var location) || string.IsNullOrEmpty(location))
                {
                    throw new OnnxFormatException($"Tensor '{tensor.Name}' uses external data without a location.");
                }

                if (location.Contains('\0', StringComparison.Ordinal))
                {
                    throw new OnnxFormatException($"Tensor '{tensor.Name}': external data location '{location.Replace("\0", "\\0", StringComparison.Ordinal)}' holds a NUL character.");
                }

                if (directory is null)
                {
                    throw new OnnxFormatException($"Tensor '{tensor.Name}' uses external data ('{location}') but the model was not loaded from a file; use OnnxModel.Load(path).");
                }

                string full = Path.GetFullPath(Path.Combine(directory, location));
                string root = Path.GetFullPath(directory) + Path.DirectorySeparatorChar;
                if (!full.StartsWith(root, StringComparison.Ordinal) || Path.IsPathRooted(location))
                {
                    throw new OnnxFormatException($"Tensor '{tensor.Name}': external data location '{location}' points outside the model's folder.");
                }

                files?.Add(full);
                if (!open.TryGetValue(full, out var file))
                {
                    if (!File.Exists(full))
                    {
                        throw new OnnxFormatException($"Tensor '{tensor.Name}': external data file '{location}' is missing beside '{source}'.");
                    }

                    // A symlink inside the folder that leads outside it is refused like a path that does.
                    if (new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true) is { } target
                        && !Path.GetFullPath(target.FullName).StartsWith(root, StringComparison.Ordinal))
                    {
                        throw new OnnxFormatException($"Tensor '{tensor.Name}': external data file '{location}' is a link to a file outside the model's folder.");
                    }

                    if (BoundedFile.ReportedLength(full) == 0)
                    {
                        // Never opened: a device or a FIFO reports 0 bytes, and opening a FIFO waits for a writer forever.
                        throw new OnnxFormatException($"Tensor '{tensor.Name}': external data file '{location}' is empty (or not a regular file).");
                    }

                    file = File.OpenRead(full);
                    open[full] = file;
                }

                long offset = keys.TryGetValue("offset", out var o) ? Number(o, tensor.Name, "offset") : 0;
                long length = keys.TryGetValue("length", out var l) ? Number(l, tensor.Name, "length") : file.Length - offset;

                // Checked without adding (offset + length could overflow past the file's size).
                if (offset < 0 || length < 0 || offset > file.Length || length > file.Length - offset || length > int.MaxValue)
                {
                    throw new OnnxFormatException($"Tensor '{tensor.Name}': external data range [{offset}, {offset + length}) is outside '{location}' ({file.Length} bytes).");
                }

                if (length >= lazyFrom)
                {
                    lazy[tensor] = new ExternalRange(full, offset, length);
                    continue;
                }

                var bytes = new byte[length];
                file.Position = offset;
                file.ReadExactly(bytes);
                tensor.RawData = ByteString.CopyFrom(bytes);
                tensor.ExternalData.Clear();
                tensor.DataLocation = TensorProto.Types.DataLocation.Default;
            }
        }
        finally
        {
            foreach (var file in open.Values)
            {
                file.Dispose();
            }
        }

        return lazy;
    }

    public static void Save(ModelProto model, string path, OnnxSaveOptions options)
    {
        bool external = options.UseExternalData || new OnnxModel(model).SerializedBytes >= OnnxModel.ProtobufLimit;
        using var writer = new ExternalDataWriter(path, external);
        var copy = model;
        if (external)
        {
            copy = model.Clone();
            foreach (var tensor in AllTensors(copy.Graph))
            {
                if (tensor.RawData.Length >= Math.Max(1, options.ExternalDataThreshold))
                {
                    writer.Spill(tensor);
                }
            }
        }

        writer.Commit(copy);
    }

    private static long Number(string text, string tensor, string key) =>
        long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long value) ? value
            : throw new OnnxFormatException($"Tensor '{tensor}': external data {key} '{text}' is not a non-negative 64-bit integer.");

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Bytes of tensor data held inline (raw or typed fields), summed in 64 bits.</summary>
    public static long TensorBytes(GraphProto graph) =>
        AllTensors(graph).Where(t => t.DataLocation != TensorProto.Types.DataLocation.External).Sum(TensorData.ByteSize);

    /// <summary>Serialized size of the model without its tensor data (the data is detached while measuring).</summary>
    public static long StructureBytes(ModelProto model)
    {
        var detached = AllTensors(model.Graph).Select(t => (Tensor: t, t.RawData, Floats: t.FloatData.ToArray())).ToList();
        try
        {
            foreach (var (t, _, _) in detached)
            {
                t.RawData = ByteString.Empty;
                t.FloatData.Clear();
            }

            return model.CalculateSize();
        }
        finally
        {
            foreach (var (t, raw, floats) in detached)
            {
                t.RawData = raw;
                t.FloatData.Add(floats);
            }
        }
    }

    /// <summary>Initializers and the tensors of Constant nodes, including those of subgraphs.</summary>
    internal static IEnumerable<TensorProto> AllTensors(GraphProto graph)
    {
        foreach (var t in graph.Initializer)
        {
            yield return t;
        }

        foreach (var node in graph.Node)
        {
            foreach (var a in node.Attribute)
            {
                if (a.T is not null)
                {
                    yield return a.T;
                }

                foreach (var t in a.Tensors)
                {
                    yield return t;
                }

                var subgraphs = a.G is null ? a.Graphs : a.Graphs.Append(a.G);
                foreach (var g in subgraphs)
                {
                    foreach (var t in AllTensors(g))
                    {
                        yield return t;
                    }
                }
            }
        }
    }
}
