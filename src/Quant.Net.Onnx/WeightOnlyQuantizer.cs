using Quant.Net.Kernels;
using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// Weight-only quantization of MatMul layers with a constant [K, N] weight (the linear layers of exported LLMs): the
/// weight goes to 4 or 8 bits in blocks along K, activations stay float. Written as MatMulNBits or as the opset-21
/// DequantizeLinear alternative, so either ONNX Runtime path works. Embedding tables go to int8 per row.
/// </summary>
public static class WeightOnlyQuantizer
{
    /// <summary>Quantizes a copy of <paramref name="model"/>.</summary>
    /// <param name="model">The FP32 model (not modified).</param>
    /// <param name="options">Bits, blocks, rounding, format.</param>
    /// <param name="calibrationData">Inputs the model is run on to measure each layer's input Hessian (GPTQ and SeqMSE).</param>
    /// <param name="progress">
    /// Reports the calibration runs that measure the Hessians ("Hessians"), then the layers ("weight-only"): one report per
    /// layer quantized and, for GPTQ and SeqMSE, reports inside each layer (its fraction done and time left) a few times
    /// per second, with the time left for the step.
    /// </param>
    /// <param name="cancellationToken">Stops the work (checked inside GPTQ's and SeqMSE's layers too); nothing is returned.</param>
    /// <exception cref="ArgumentException">An excluded node does not exist, an option is out of range, or a data-aware method has no calibration data.</exception>
    /// <exception cref="OnnxFormatException">The model is malformed or cannot move to opset 21 (DequantizeLinear format).</exception>
    public static WeightOnlyResult Quantize(OnnxModel model, WeightOnlyOptions? options = null, ICalibrationDataSource? calibrationData = null,
        IProgress<QuantizationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new WeightOnlyOptions();
        Validate(options);
        var (prepared, _) = ModelPreparer.Prepare(model, MinimumOpset(options), foldBatchNorm: false);
        bool dataAware = options.Method != WeightOnlyMethod.Blockwise;
        if (dataAware && calibrationData is null)
        {
            throw new ArgumentException($"{options.Method} needs calibration data (the layers' inputs give their Hessians).", nameof(calibrationData));
        }

        var run = new Run(prepared, options, null, null, keepWeights: true);
        var hessians = dataAware ? Hessians(prepared, run.LayerInputs(), calibrationData!, progress, cancellationToken) : null;
        run.Quantize(hessians, progress, cancellationToken);
        return new WeightOnlyResult(prepared, run.QuantizedNodes, run.Weights) { TiedEmbeddings = run.TiedNodes };
    }

    /// <summary>
    /// Quantizes the model in <paramref name="modelPath"/> into <paramref name="outputPath"/> without holding it in
    /// memory: large tensors stay in the model's external data files and are read one layer at a time; each
    /// layer's packed weights are appended to <c>OUTPUT.onnx.data</c> as soon as they are made, other large tensors are
    /// copied across in chunks, and the model is written last. (A model without external data is in memory once parsed
    /// and is written as one file, as <see cref="OnnxModel.Save"/> would.) Peak memory is about one layer's float weights plus its
    /// packed form (an embedding table when one is quantized), whatever the model's size. Both files appear only when
    /// complete. Preparation is limited to what reads no weights (no constant folding); the data-aware methods need the
    /// model run in ONNX Runtime and so in memory: use <see cref="Quantize"/> for them.
    /// </summary>
    /// <param name="modelPath">The FP32 model (not modified); its external data beside it.</param>
    /// <param name="outputPath">The quantized model; when the input has external data, its tensors go to <c>outputPath + ".data"</c>.</param>
    /// <param name="options">Bits, blocks, rounding, format (<see cref="WeightOnlyMethod.Blockwise"/> only).</param>
    /// <param name="progress">One report per layer quantized.</param>
    /// <param name="cancellationToken">Stops the work; nothing is written.</param>
    /// <exception cref="ArgumentException">The output would overwrite the model or its data, an excluded node does not exist, an option is out of range, or a data-aware method is asked for.</exception>
    /// <exception cref="OnnxFormatException">The model is malformed or its external data is missing.</exception>
    public static WeightOnlyFileResult QuantizeFile(string modelPath, string outputPath, WeightOnlyOptions? options = null,
        IProgress<QuantizationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        options ??= new WeightOnlyOptions();
        Validate(options);
        if (options.Method != WeightOnlyMethod.Blockwise)
        {
            throw new ArgumentException($"{options.Method} runs the model on calibration data in ONNX Runtime, which needs it in memory; streaming supports {nameof(WeightOnlyMethod.Blockwise)} (use Quantize).", nameof(options));
        }

        string input = Path.GetFullPath(modelPath), output = Path.GetFullPath(outputPath);
        if (string.Equals(input, output, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The output '{outputPath}' is the input model.", nameof(outputPath));
        }

        using var source = ExternalTensorSource.Open(input);
        bool external = source.LazyBytes > 0;
        using var writer = new ExternalDataWriter(output, external);
        if (source.Files.Contains(output))
        {
            throw new ArgumentException($"The output '{outputPath}' is the input model's external data file.", nameof(outputPath));
        }

        if (external && (source.Files.Contains(writer.DataPath) || string.Equals(input, writer.DataPath, StringComparison.Ordinal)))
        {
            throw new ArgumentException($"The output's data file '{writer.DataName}' would replace the input model or its data.", nameof(outputPath));
        }

        var model = source.Model;
        ModelPreparer.PrepareStructure(model, MinimumOpset(options));
        var run = new Run(model, options, source, external ? writer : null, keepWeights: false);
        run.Quantize(hessians: null, progress, cancellationToken);
        if (external)
        {
            // What is left: tensors still in the input's files are copied across; large ones in memory are spilled.
            foreach (var tensor in ExternalData.AllTensors(model.Graph).ToList())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (source.IsLazy(tensor))
                {
                    source.CopyTo(tensor, writer);
                }
                else if (tensor.RawData.Length >= SpillFrom)
                {
                    writer.Spill(tensor);
                }
            }
        }

        writer.Commit(model.Proto);
        return new WeightOnlyFileResult(run.QuantizedNodes, run.LayerCount, run.FloatBytes, run.QuantizedBytes, new FileInfo(input).Length + source.Files.Sum(f => new FileInfo(f).Length),
            new FileInfo(output).Length + (external ? new FileInfo(writer.DataPath).Length : 0)) { TiedEmbeddings = run.TiedNodes };
    }

    /// <summary>Tensors of at least this many bytes go to the output's data file when streaming.</summary>
    private const int SpillFrom = 1024;

    private static void Validate(WeightOnlyOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(options.AccuracyLevel);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.AccuracyLevel, 4);
    }

    private static int MinimumOpset(WeightOnlyOptions options) => options.Format == WeightOnlyFormat.DequantizeLinear ? 21 : 1;

    /// <summary>
    /// One quantization pass over a prepared graph: each eligible MatMul replaced (weights read through the source when
    /// streaming, new tensors spilled to the writer after each layer), then the embedding tables.
    /// </summary>
    private sealed class Run
    {
        private readonly OnnxModel _model;
        private readonly WeightOnlyOptions _options;
        private readonly ExternalTensorSource? _source;
        private readonly ExternalDataWriter? _writer;
        private readonly bool _keepWeights;
        private readonly GraphIndex _index;
        private readonly List<NodeProto> _layers;

        public Run(OnnxModel model, WeightOnlyOptions options, ExternalTensorSource? source, ExternalDataWriter? writer, bool keepWeights)
        {
            _model = model;
            _options = options;
            _source = source;
            _writer = writer;
            _keepWeights = keepWeights;
            var graph = model.Graph;
            _index = new GraphIndex(graph);
            var nodes = graph.Node.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var excluded in options.ExcludedNodes.Where(e => !nodes.Contains(e)))
            {
                throw new ArgumentException($"Excluded node '{excluded}' is not in the model.", nameof(options));
            }

            _layers = [.. graph.Node.Where(Eligible)];
        }

        public List<string> QuantizedNodes { get; } = [];

        public Dictionary<string, BlockQuantizedWeights> Weights { get; } = new(StringComparer.Ordinal);

        /// <summary>Gather nodes whose table is tied to a head now read from the head's packed weights.</summary>
        public List<string> TiedNodes { get; } = [];

        public int LayerCount { get; private set; }

        public long FloatBytes { get; private set; }

        public long QuantizedBytes { get; private set; }

        public List<(string Tensor, int K)> LayerInputs() => [.. _layers.Select(l => (l.Input[0], (int)_index.Initializers[l.Input[1]].Dims[0])).Distinct()];

        public void Quantize(Dictionary<string, double[]>? hessians, IProgress<QuantizationProgress>? progress, CancellationToken cancellationToken)
        {
            var graph = _model.Graph;
            var names = new NameSet(graph);
            var tied = TiedEmbeddings();
            float[]? buffer = null;
            var step = new LayerStepProgress(progress, "weight-only", [.. _layers.Select(Cost)]);
            for (int li = 0; li < _layers.Count; li++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var node = _layers[li];
                var init = _index.Initializers[node.Input[1]];
                int k = (int)init.Dims[0], n = (int)init.Dims[1];
                var floats = _source is not null ? _source.ReadFloats(init, ref buffer) : TensorData.ToFloats(init);
                var w = _options.Method switch
                {
                    WeightOnlyMethod.Gptq => BlockQuantizedWeights.QuantizeGptq(floats, k, n, WeightLayout.KByN, hessians![node.Input[0]], _options.Blocks, _options.GptqDamping,
                        step.Inside(li, node.Name), cancellationToken),
                    WeightOnlyMethod.SeqMse => BlockQuantizedWeights.QuantizeSeqMse(floats, k, n, WeightLayout.KByN, hessians![node.Input[0]], _options.Blocks,
                        step.Inside(li, node.Name), cancellationToken),
                    _ => BlockQuantizedWeights.Quantize(floats, k, n, WeightLayout.KByN, _options.Blocks),
                };
                int before = graph.Initializer.Count;
                if (_options.Format == WeightOnlyFormat.MatMulNBits)
                {
                    var (packed, scales) = WriteMatMulNBits(graph, names, node, w, k, n, _options.AccuracyLevel);
                    if (tied.Remove(node, out var gather))
                    {
                        TiedEmbeddingWriter.Write(graph, names, gather, packed, scales, w);
                        TiedNodes.Add(gather.Name);
                    }
                }
                else
                {
                    WriteDequantizeLinear(graph, names, node, w, k, n);
                }

                LayerCount++;
                FloatBytes += (long)n * k * sizeof(float);
                QuantizedBytes += w.StorageBytes;
                QuantizedNodes.Add(node.Name);
                if (_keepWeights)
                {
                    Weights[node.Name] = w;
                }

                SpillNew(graph, before);
                step.Finished(LayerCount);
            }

            QuantizedNodes.AddRange(TiedNodes);
            if (_options.QuantizeEmbeddings && _model.OpsetVersion >= 13)
            {
                foreach (var gather in graph.Node.Where(n => n.OpType == "Gather" && n.Domain is "" or "ai.onnx" && !_options.ExcludedNodes.Contains(n.Name)).ToList())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    int before = graph.Initializer.Count;
                    if (EmbeddingWriter.TryWrite(graph, _index, names, gather, _source is null ? null : _source.ReadFloats) is not null)
                    {
                        QuantizedNodes.Add(gather.Name);
                        SpillNew(graph, before);
                        GraphReads.DropUnusedInitializers(graph);
                    }
                }
            }

            if (_options.Format == WeightOnlyFormat.MatMulNBits && !_model.Proto.OpsetImport.Any(o => o.Domain == "com.microsoft"))
            {
                _model.Proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
            }

            // The float weights and tables replaced (unless a branch or another node still reads them).
            GraphReads.DropUnusedInitializers(graph);
            QdqWriter.Finish(_model, _model.OpsetVersion);
        }

        /// <summary>
        /// Head layers whose weight [K, N] is exactly the transpose of an embedding table [N, K] that a Gather reads
        /// (tied weights an exporter stored twice): written as MatMulNBits (symmetric blocks), the table is then read
        /// from the head's packed weights and stored once.
        /// </summary>
        private Dictionary<NodeProto, NodeProto> TiedEmbeddings()
        {
            var tied = new Dictionary<NodeProto, NodeProto>(ReferenceEqualityComparer.Instance);
            if (_options.Format != WeightOnlyFormat.MatMulNBits || !_options.ShareTiedEmbeddings || !_options.QuantizeEmbeddings || !_options.Blocks.Symmetric || _model.OpsetVersion < 13)
            {
                return tied;
            }

            var tables = _model.Graph.Node.Where(n => n.OpType == "Gather" && n.Domain is "" or "ai.onnx" && n.Input.Count == 2 && !_options.ExcludedNodes.Contains(n.Name)
                && OpCatalog.Attribute(n, "axis", 0L) == 0 && _index.Initializers.TryGetValue(n.Input[0], out var t) && t.Dims.Count == 2 && _index.IsFloat(n.Input[0])
                && !_index.GraphOutputs.Contains(n.Input[0])).ToList();
            foreach (var layer in _layers)
            {
                var head = _index.Initializers[layer.Input[1]];
                float[]? h = null;
                foreach (var gather in tables)
                {
                    var table = _index.Initializers[gather.Input[0]];
                    if (table.Dims[0] != head.Dims[1] || table.Dims[1] != head.Dims[0] || tied.ContainsValue(gather))
                    {
                        continue;
                    }

                    int k = (int)head.Dims[0], n = (int)head.Dims[1];
                    h ??= Read(head);
                    var e = Read(table);
                    bool same = true;
                    for (int v = 0; v < n && same; v++)
                    {
                        for (int i = 0; i < k; i++)
                        {
                            if (e[(v * k) + i] != h[(i * n) + v])
                            {
                                same = false;
                                break;
                            }
                        }
                    }

                    if (same)
                    {
                        tied[layer] = gather;
                        break;
                    }
                }
            }

            return tied;
        }

        /// <summary>A layer's work, estimated from its weight's shape [K, N]: GPTQ factors a K × K matrix and updates N·K² weights; SeqMSE and MSE try every clipping ratio on every block.</summary>
        private double Cost(NodeProto layer)
        {
            var dims = _index.Initializers[layer.Input[1]].Dims;
            double k = dims[0], n = dims[1];
            return _options.Method switch
            {
                WeightOnlyMethod.Gptq => (k * k * k / 2) + (n * k * k / 2),
                WeightOnlyMethod.SeqMse => n * k * _options.Blocks.BlockSize * (_options.Blocks.SearchSteps + 1),
                _ => n * k * (_options.Blocks.Rounding == BlockRounding.MseSearch ? _options.Blocks.SearchSteps + 1 : 1),
            };
        }

        private float[] Read(TensorProto tensor) => _source is not null ? _source.ReadFloats(tensor) : TensorData.ToFloats(tensor);

        private bool Eligible(NodeProto node) => node.OpType == "MatMul" && node.Domain is "" or "ai.onnx" && !_options.ExcludedNodes.Contains(node.Name) && node.Input.Count == 2
            && _index.Initializers.TryGetValue(node.Input[1], out var w) && w.Dims.Count == 2 && _index.IsFloat(node.Input[1]);

        /// <summary>When streaming, the tensors just added go to the output's data file and leave memory.</summary>
        private void SpillNew(GraphProto graph, int from)
        {
            if (_writer is null)
            {
                return;
            }

            for (int i = from; i < graph.Initializer.Count; i++)
            {
                if (graph.Initializer[i].RawData.Length >= SpillFrom)
                {
                    _writer.Spill(graph.Initializer[i]);
                }
            }
        }
    }

    private static (string Packed, string Scales) WriteMatMulNBits(GraphProto graph, NameSet names, NodeProto node, BlockQuantizedWeights w, int k, int n, int accuracyLevel)
    {
        var (b, scales, zeroPoints) = MatMulNBitsLayout.From(w);
        string baseName = node.Input[1];
        string bName = names.Make(baseName + "_packed"), sName = names.Make(baseName + "_scales");
        graph.Initializer.Add(TensorData.Create<byte>(bName, b, [n, w.BlockCount, w.BlockSize * w.Bits / 8]));
        graph.Initializer.Add(TensorData.Create<float>(sName, scales, [n * w.BlockCount]));
        var replacement = new NodeProto { Name = node.Name, OpType = "MatMulNBits", Domain = "com.microsoft" };
        replacement.Input.Add([node.Input[0], bName, sName]);
        if (zeroPoints is not null)
        {
            string zName = names.Make(baseName + "_zero_points");
            graph.Initializer.Add(TensorData.Create<byte>(zName, zeroPoints, [zeroPoints.Length]));
            replacement.Input.Add(zName);
        }

        replacement.Output.Add(node.Output[0]);
        foreach (var (attribute, value) in new (string, long)[] { ("K", k), ("N", n), ("bits", w.Bits), ("block_size", w.BlockSize), ("accuracy_level", accuracyLevel) })
        {
            replacement.Attribute.Add(new AttributeProto { Name = attribute, Type = AttributeProto.Types.AttributeType.Int, I = value });
        }

        graph.Node[graph.Node.IndexOf(node)] = replacement;
        return (bName, sName);
    }

    /// <summary>H = Σ x·xᵀ [K, K] of each layer input over every row (all leading dimensions) of every calibration sample.</summary>
    private static Dictionary<string, double[]> Hessians(OnnxModel prepared, List<(string Tensor, int K)> inputs, ICalibrationDataSource data,
        IProgress<QuantizationProgress>? progress, CancellationToken cancellationToken)
    {
        var hessians = inputs.ToDictionary(i => i.Tensor, i => new double[(long)i.K * i.K], StringComparer.Ordinal);
        using var runner = new ModelRunner(prepared, 0, inputs.Select(i => i.Tensor));
        int done = 0;
        progress?.Report(new QuantizationProgress("Hessians", 0, data.Count));
        foreach (var sample in data.GetSamples(cancellationToken))
        {
            if (done > 0)
            {
                progress?.Report(new QuantizationProgress("Hessians", done, data.Count));
            }

            done++;
            var outputs = runner.Run(sample);
            foreach (var (tensor, k) in inputs)
            {
                var (values, shape) = outputs[tensor];
                if (shape.Length == 0 || shape[^1] != k)
                {
                    throw new InvalidDataException($"Layer input '{tensor}' has shape [{string.Join(", ", shape)}]; its weight expects {k} features last.");
                }

                var h = hessians[tensor];
                var rowValues = new double[k];
                for (int r = 0; r < values.Length / k; r++)
                {
                    for (int i = 0; i < k; i++)
                    {
                        rowValues[i] = values[(r * k) + i];
                    }

                    // Lower triangle, mirrored below.
                    for (int i = 0; i < k; i++)
                    {
                        double xi = rowValues[i];
                        if (xi == 0)
                        {
                            continue;
                        }

                        var target = h.AsSpan(i * k, i + 1);
                        for (int j = 0; j <= i; j++)
                        {
                            target[j] += xi * rowValues[j];
                        }
                    }
                }
            }
        }

        progress?.Report(new QuantizationProgress("Hessians", done, data.Count));
        foreach (var (tensor, k) in inputs)
        {
            var h = hessians[tensor];
            for (int i = 0; i < k; i++)
            {
                for (int j = i + 1; j < k; j++)
                {
                    h[(i * k) + j] = h[(j * k) + i];
                }
            }
        }

        return hessians;
    }

    /// <summary>W as [K, N] codes (int4/int8 signed if symmetric, else unsigned with zero points) + DequantizeLinear(axis 0, block_size).</summary>
    private static void WriteDequantizeLinear(GraphProto graph, NameSet names, NodeProto node, BlockQuantizedWeights w, int k, int n)
    {
        bool signed = w.IsSymmetric;
        int middle = 1 << (w.Bits - 1);
        var codes = new sbyte[k * n];
        var parameterShape = new[] { w.BlockCount, n };
        var scales = new float[w.BlockCount * n];
        var zeroPoints = new sbyte[w.BlockCount * n];
        for (int row = 0; row < n; row++)
        {
            for (int i = 0; i < k; i++)
            {
                int code = w.GetCode(row, i);
                codes[(i * n) + row] = (sbyte)(signed ? code - middle : code);
            }

            for (int blk = 0; blk < w.BlockCount; blk++)
            {
                scales[(blk * n) + row] = w.GetScale(row, blk);
                zeroPoints[(blk * n) + row] = (sbyte)w.GetZeroPoint(row, blk);
            }
        }

        string baseName = node.Input[1];
        string q = names.Make(baseName + "_quantized"), s = names.Make(baseName + "_scale"), dequantized = names.Make(baseName + "_dequantized");
        if (w.Bits == 4)
        {
            var packed = new byte[Int4Packing.PackedLength(codes.Length)];
            Int4Packing.Pack(codes, packed);
            graph.Initializer.Add(TensorData.CreateInt4(q, packed, [k, n], signed));
        }
        else if (signed)
        {
            graph.Initializer.Add(TensorData.Create<sbyte>(q, codes, [k, n]));
        }
        else
        {
            graph.Initializer.Add(TensorData.Create<byte>(q, [.. codes.Select(c => (byte)c)], [k, n]));
        }

        graph.Initializer.Add(TensorData.Create<float>(s, scales, parameterShape));
        var inputs = new List<string> { q, s };
        if (!signed)
        {
            string z = names.Make(baseName + "_zero_point");
            if (w.Bits == 4)
            {
                var packed = new byte[Int4Packing.PackedLength(zeroPoints.Length)];
                Int4Packing.Pack(zeroPoints, packed);
                graph.Initializer.Add(TensorData.CreateInt4(z, packed, parameterShape, isSigned: false));
            }
            else
            {
                graph.Initializer.Add(TensorData.Create<byte>(z, [.. zeroPoints.Select(c => (byte)c)], parameterShape));
            }

            inputs.Add(z);
        }

        var dq = QdqWriter.Dequantize(names.Make(baseName + "_DequantizeLinear"), [.. inputs], dequantized, QuantGranularity.PerBlock(0, w.BlockSize));
        graph.Node.Insert(graph.Node.IndexOf(node), dq);
        node.Input[1] = dequantized;
    }
}
