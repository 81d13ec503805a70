using Google.Protobuf;
using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// An ONNX model held in memory: the graph, its initializers (external data already read in) and its opsets.
/// Loading never changes the file; every transformation in this package works on a copy.
/// </summary>
public sealed class OnnxModel
{
    /// <summary>Protobuf refuses single messages above 2 GiB; larger models must keep tensors in external data.</summary>
    internal const long ProtobufLimit = int.MaxValue;

    internal OnnxModel(ModelProto proto) => Proto = proto;

    internal ModelProto Proto { get; }

    /// <summary>BatchNorm β and γ of folded BatchNorms, by the tensor they produced (for high-bias absorption).</summary>
    internal Dictionary<string, (float[] Beta, float[] Gamma)> FoldedStatistics { get; } = new(StringComparer.Ordinal);

    internal GraphProto Graph => Proto.Graph;

    /// <summary>The IR version of the file format.</summary>
    public long IrVersion => Proto.IrVersion;

    /// <summary>The version of the default (<c>ai.onnx</c>) operator set the model uses.</summary>
    public int OpsetVersion => (int)(Proto.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version ?? 0);

    /// <summary>The tool that wrote the model (for example <c>pytorch</c>, <c>CNTK</c>, <c>Quant.Net</c>).</summary>
    public string ProducerName => Proto.ProducerName;

    /// <summary>The graph inputs that are fed at run time (initializers listed as inputs are left out).</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs
    {
        get
        {
            var initializers = Graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
            return [.. Graph.Input.Where(i => !initializers.Contains(i.Name)).Select(OnnxValueInfo.From)];
        }
    }

    /// <summary>The graph outputs.</summary>
    public IReadOnlyList<OnnxValueInfo> Outputs => [.. Graph.Output.Select(OnnxValueInfo.From)];

    /// <summary>The nodes in graph order.</summary>
    public IReadOnlyList<OnnxNode> Nodes => [.. Graph.Node.Select(n => new OnnxNode(n.Name, n.OpType, n.Domain, [.. n.Input], [.. n.Output]))];

    /// <summary>The names of the graph's initializers (weights, biases, constants).</summary>
    public IReadOnlyList<string> InitializerNames => [.. Graph.Initializer.Select(i => i.Name)];

    /// <summary>Bytes taken by all initializers' data: the figure compared between FP32 and quantized models.</summary>
    public long InitializerBytes => Graph.Initializer.Sum(TensorData.ByteSize);

    /// <summary>
    /// Bytes of the model serialized with inline data. Exact below 1 GiB of tensor data; above that, tensor bytes plus the
    /// graph's structure (protobuf's own size computation overflows at 2 GiB).
    /// </summary>
    public long SerializedBytes
    {
        get
        {
            long tensors = ExternalData.TensorBytes(Graph);
            return tensors < (1L << 30) ? Proto.CalculateSize() : tensors + ExternalData.StructureBytes(Proto);
        }
    }

    /// <summary>Number of nodes of each operator type.</summary>
    public IReadOnlyDictionary<string, int> CountOperators() =>
        Graph.Node.GroupBy(n => n.OpType, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>Reads a model file; tensors stored as external data are read from files beside it.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="OnnxFormatException">The file is not a valid ONNX model or its external data is missing.</exception>
    public static OnnxModel Load(string path) => LoadStructure(path, lazyFrom: long.MaxValue).Model;

    /// <summary>Reads a model from a stream; external data, if any, is resolved against <paramref name="externalDataDirectory"/>.</summary>
    /// <exception cref="OnnxFormatException">The bytes are not a valid ONNX model or its external data is missing.</exception>
    public static OnnxModel Load(Stream stream, string? externalDataDirectory = null) => Load(stream, externalDataDirectory, "stream");

    /// <summary>Reads a model from its serialized bytes (no external data).</summary>
    /// <exception cref="OnnxFormatException">The bytes are not a valid ONNX model.</exception>
    public static OnnxModel FromBytes(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        using var stream = new MemoryStream(bytes, writable: false);
        return Load(stream, null, "bytes");
    }

    /// <summary>Reads a model file leaving external tensors of at least <paramref name="lazyFrom"/> bytes in their files (checked, not read).</summary>
    internal static (OnnxModel Model, Dictionary<TensorProto, ExternalRange> Lazy, HashSet<string> Files) LoadStructure(string path, long lazyFrom)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"ONNX model '{path}' does not exist.", path);
        }

        if (BoundedFile.ReportedLength(path) == 0)
        {
            // Never opened: a device or a FIFO reports 0 bytes, and opening a FIFO waits for a writer forever.
            throw new OnnxFormatException($"'{path}' is not an ONNX model: it is empty (or not a regular file).");
        }

        using var stream = File.OpenRead(path);
        var proto = Parse(stream, path);
        var files = new HashSet<string>(StringComparer.Ordinal);
        var lazy = ExternalData.ReadInto(proto.Graph, Path.GetDirectoryName(Path.GetFullPath(path)), path, lazyFrom, files);
        return (new OnnxModel(proto), lazy, files);
    }

    private static OnnxModel Load(Stream stream, string? directory, string source)
    {
        var proto = Parse(stream, source);
        ExternalData.ReadInto(proto.Graph, directory, source);
        return new OnnxModel(proto);
    }

    private static ModelProto Parse(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxFormatException($"'{source}' is not a valid ONNX model (protobuf parse failed: {e.Message}).", e);
        }

        if (proto.Graph is null || proto.IrVersion <= 0 || (proto.Graph.Node.Count == 0 && proto.Graph.Output.Count == 0))
        {
            throw new OnnxFormatException($"'{source}' is not an ONNX model: it has no graph, IR version or nodes.");
        }

        CheckUniqueNames(proto.Graph, source);
        return proto;
    }

    /// <summary>
    /// Names defined twice make a graph ambiguous (ONNX's checker refuses them; ONNX Runtime silently takes the first
    /// initializer of a name, where a tool could take the last): a second initializer of a name, or a second node output
    /// of a name, is a format error naming the tensor.
    /// </summary>
    private static void CheckUniqueNames(GraphProto graph, string source)
    {
        var initializers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in graph.Initializer)
        {
            if (!initializers.Add(t.Name))
            {
                throw new OnnxFormatException($"'{source}': initializer '{t.Name}' is defined twice.");
            }
        }

        var outputs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output.Where(o => o.Length > 0))
            {
                if (!outputs.Add(output) || initializers.Contains(output))
                {
                    throw new OnnxFormatException($"'{source}': tensor '{output}' is produced twice (node '{node.Name}' {node.OpType} defines it again).");
                }
            }
        }
    }

    /// <summary>A deep copy: transformations on the copy never touch this model.</summary>
    public OnnxModel Clone() => new(Proto.Clone());

    /// <summary>The serialized model (initializers inline).</summary>
    /// <exception cref="InvalidOperationException">The model exceeds protobuf's 2 GiB limit; use <see cref="Save"/>.</exception>
    public byte[] ToBytes()
    {
        if (SerializedBytes >= ProtobufLimit)
        {
            throw new InvalidOperationException("The model exceeds 2 GiB; save it with external data instead.");
        }

        return Proto.ToByteArray();
    }

    /// <summary>
    /// Writes the model atomically: everything goes to temporary files in the destination folder and is moved into
    /// place only when complete, so a failure never leaves a partial model behind.
    /// </summary>
    /// <param name="path">Destination <c>.onnx</c> file.</param>
    /// <param name="options">External-data choices; by default external data is used only above 2 GiB.</param>
    /// <exception cref="IOException">The destination cannot be written (the message names it).</exception>
    public void Save(string path, OnnxSaveOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ExternalData.Save(Proto, Path.GetFullPath(path), options ?? new OnnxSaveOptions());
    }
}
