using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>Which tensors of a prepared model are quantized, and how: the config applied to the graph.</summary>
internal sealed class QuantizationPlan
{
    private readonly Dictionary<string, PlannedTensor> _tensors = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    public IEnumerable<PlannedTensor> Tensors => _order.Select(n => _tensors[n]);

    public IReadOnlyList<string> QuantizedNodes { get; private set; } = [];

    public PlannedTensor? this[string name] => _tensors.GetValueOrDefault(name);

    /// <summary>Tensors needing calibration (activations with their own encoding).</summary>
    public IEnumerable<PlannedTensor> Observed => Tensors.Where(t => t.Role == TensorRole.Activation && t.SharesEncodingWith is null);

    private void Add(PlannedTensor tensor)
    {
        if (_tensors.TryAdd(tensor.Name, tensor))
        {
            _order.Add(tensor.Name);
        }
    }

    /// <summary>A plan of the given tensors (a subset of a built plan, for variants that leave some tensors in float).</summary>
    public static QuantizationPlan From(IEnumerable<PlannedTensor> tensors, IReadOnlyList<string> quantizedNodes)
    {
        var plan = new QuantizationPlan { QuantizedNodes = quantizedNodes };
        foreach (var t in tensors)
        {
            plan.Add(t);
        }

        return plan;
    }

    /// <summary>
    /// The plan of a prepared model under <paramref name="config"/>, in named steps: check the node names the config
    /// uses, find the supergroups (no quantizer inside them), then per quantizable node its inputs (weights with their
    /// channel/reduction axes, constants, activations), its outputs and its bias.
    /// </summary>
    public static QuantizationPlan Build(OnnxModel prepared, QuantizationConfig config)
    {
        var graph = prepared.Graph;
        var index = new GraphIndex(graph);
        CheckNodeNames(graph, config);
        var excluded = config.ExcludedNodes.ToHashSet(StringComparer.Ordinal);
        // Multi-node activations and LayerNorms are one quantized op; attention masks and what they are added to stay
        // float, and Softmax outputs get the fixed [0, 1] encoding.
        var patterns = ActivationPatterns.Find(index).Where(p => !p.Members.Any(m => excluded.Contains(m.Name))).ToList();
        var patternOf = patterns.ToDictionary(p => p.Tail.Name, StringComparer.Ordinal);
        var members = patterns.SelectMany(p => p.Members).Where(m => !patternOf.ContainsKey(m.Name)).Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var masks = AttentionMasks.Find(index);
        // A node computing only on constants (shape or scale arithmetic) and one whose outputs only parameterise other
        // ops stay in float.
        bool Quantizable(NodeProto n) => !excluded.Contains(n.Name) && n.Domain is "" or "ai.onnx" && !members.Contains(n.Name) && !masks.Nodes.Contains(n.Name)
            && (OpCatalog.QuantizedInputCount(n.OpType) is not null || patternOf.ContainsKey(n.Name) || (config.QuantizeAllOperators && !OpCatalog.NeverQuantized(n.OpType)))
            && !n.Input.All(i => i.Length == 0 || index.IsInitializer(i)) && !OnlyParameters(index, n);
        var (inside, tails) = Supergroups(graph, index, config, Quantizable);
        inside.UnionWith(patterns.SelectMany(p => p.Inside));
        inside.UnionWith(masks.Tensors);
        var floats = FloatRegions.Find(index, Quantizable, patterns, tails, config.QuantizeModelOutputs, config.FullInteger);
        var plan = new QuantizationPlan();
        var quantizedNodes = new List<string>();
        var quantizedSet = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Node.Where(n => n.OpType is "LSTM" or "GRU" or "RNN" && n.Domain is "" or "ai.onnx" && !excluded.Contains(n.Name)))
        {
            if (plan.AddRecurrentWeights(node, index, config))
            {
                quantizedNodes.Add(node.Name);
            }
        }

        foreach (var node in graph.Node.Where(n => Quantizable(n) && !floats.Nodes.Contains(n.Name)))
        {
            var settings = config.For(node.OpType, node.Name);
            bool tail = tails.TryGetValue(node.Name, out var head);
            bool quantized = tail && quantizedSet.Contains(head!.Name);
            if (patternOf.TryGetValue(node.Name, out var pattern))
            {
                // The pattern's input is quantized where it enters; its constants stay float.
                quantized = plan.AddActivation(pattern.Input, node, index, config, inside) || (index.Producer(pattern.Input) is { } p && quantizedSet.Contains(p.Name));
            }
            else if (!tail && (settings.QuantizeInputs ?? true))
            {
                // (A supergroup's later members quantize nothing on the way in: the chain's tensors are inside it, a bias stays float.)
                quantized |= plan.AddInputs(node, index, config, inside);
            }

            // Softmax's output has a fixed range: it is quantized even when its input stays float (after a mask).
            quantized |= node.OpType == "Softmax" && index.IsFloat(node.Output[0]);
            if (!quantized)
            {
                continue;
            }

            quantizedNodes.Add(node.Name);
            quantizedSet.Add(node.Name);
            if ((settings.QuantizeOutput ?? true) && !floats.FloatOutputs.Contains(node.Name))
            {
                plan.AddOutputs(node, index, config, inside);
            }

            plan.AddBias(node, index, config);
        }

        plan.QuantizedNodes = quantizedNodes;
        plan.MarkFloatReaders(index, floats, quantizedSet);
        return plan;
    }

    /// <summary>
    /// An activation produced by a float op (or a graph input) and quantized for an integer reader is read in float by
    /// the readers that take float: a LayerNorm's output goes quantized into the next MatMul and unrounded into the
    /// residual Add. (A quantized op's output is read quantized by everyone: its integer kernel writes the codes.)
    /// </summary>
    private void MarkFloatReaders(GraphIndex index, FloatRegions floats, HashSet<string> quantizedNodes)
    {
        foreach (var name in _order)
        {
            var t = _tensors[name];
            if (t.Role != TensorRole.Activation || (index.Producer(name) is { } producer && quantizedNodes.Contains(producer.Name)))
            {
                continue;
            }

            var readers = index.Consumers(name).Where(c => floats.ReadsFloat(c, name)).Select(c => c.Name).ToList();
            if (readers.Count > 0)
            {
                _tensors[name] = t with { FloatReaders = readers };
            }
        }
    }

    private static bool OnlyParameters(GraphIndex index, NodeProto node) =>
        node.Output.Where(o => o.Length > 0).All(o => !index.GraphOutputs.Contains(o) && index.Consumers(o).Count > 0
            && index.Consumers(o).All(c => Enumerable.Range(0, c.Input.Count).Where(i => c.Input[i] == o).All(i => OpCatalog.IsParameterInput(c, i))));

    /// <summary>Every node the config names (excluded or overridden) must exist.</summary>
    private static void CheckNodeNames(GraphProto graph, QuantizationConfig config)
    {
        var nodes = graph.Node.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in config.ExcludedNodes)
        {
            if (!nodes.Contains(name))
            {
                throw new ArgumentException($"Excluded node '{name}' is not in the model.", nameof(config));
            }
        }

        foreach (var name in config.Nodes.Keys)
        {
            if (!nodes.Contains(name))
            {
                throw new ArgumentException($"Node override '{name}' names no node of the model.", nameof(config));
            }
        }
    }

    /// <summary>
    /// Chains of ops matching a supergroup (Conv → Relu): the tensors inside a chain get no quantizer, and the chain's
    /// later members count as quantized when its head is.
    /// </summary>
    private static (HashSet<string> Inside, Dictionary<string, NodeProto> Tails) Supergroups(GraphProto graph, GraphIndex index, QuantizationConfig config, Func<NodeProto, bool> quantizable)
    {
        var inside = new HashSet<string>(StringComparer.Ordinal);
        var tails = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node.Where(quantizable))
        {
            foreach (var group in config.Supergroups.Where(g => g[0] == node.OpType))
            {
                var chain = new List<NodeProto> { node };
                for (int k = 1; k < group.Count; k++)
                {
                    var last = chain[^1];
                    if (last.Output.Count == 0 || index.GraphOutputs.Contains(last.Output[0]) || index.Consumers(last.Output[0]) is not [var next]
                        || next.OpType != group[k] || !quantizable(next) || !Continues(next, last.Output[0], index))
                    {
                        chain.Clear();
                        break;
                    }

                    chain.Add(next);
                }

                if (chain.Count == group.Count)
                {
                    foreach (var member in chain.Take(chain.Count - 1))
                    {
                        inside.Add(member.Output[0]);
                    }

                    foreach (var member in chain.Skip(1))
                    {
                        tails[member.Name] = node;
                    }

                    break;
                }
            }
        }

        return (inside, tails);
    }

    /// <summary>
    /// Whether <paramref name="next"/> continues a supergroup chain from <paramref name="previous"/>: as its first input,
    /// or either input of an Add, which must add a constant (a bias: MatMul → Add is a linear layer, a residual Add is not).
    /// </summary>
    private static bool Continues(NodeProto next, string previous, GraphIndex index) => next.OpType == "Add"
        ? next.Input.Count == 2 && next.Input.Contains(previous) && index.IsInitializer(next.Input[next.Input[0] == previous ? 1 : 0])
        : next.Input.Count > 0 && next.Input[0] == previous;

    private static ObserverKind ObserverFor(QuantizationConfig config, string tensor) => config.TensorObservers.TryGetValue(tensor, out var o) ? o : config.Observer;

    /// <summary>Plans the node's quantized float inputs; true if it planned any.</summary>
    private bool AddInputs(NodeProto node, GraphIndex index, QuantizationConfig config, HashSet<string> inside)
    {
        var activation = config.ActivationScheme(node.OpType, node.Name);
        var role = OpCatalog.Weight(node);
        bool any = false;
        int count = Math.Min(OpCatalog.QuantizedInputCount(node.OpType) ?? node.Input.Count, node.Input.Count);
        for (int i = 0; i < count; i++)
        {
            string t = node.Input[i];
            if (t.Length == 0 || inside.Contains(t) || !index.IsFloat(t))
            {
                continue;
            }

            if (!index.Initializers.TryGetValue(t, out var init))
            {
                any |= AddActivation(t, node, index, config, inside);
            }
            else if (OpCatalog.QuantizedInputCount(node.OpType) is not null)
            {
                // (An op outside the curated list, quantized as one of all operators, keeps its constants as float parameters: Pow's exponent, ….)
                Add(role is { } r && r.WeightInput == i
                    ? new PlannedTensor(t, TensorRole.Weight, WeightScheme(node, init, r, config), node.Name)
                    : new PlannedTensor(t, TensorRole.Constant, activation, node.Name));
                any = true;
            }
        }

        return any;
    }

    /// <summary>
    /// Weight-only quantization of a recurrent layer: W [dirs, gates·hidden, input] and R [dirs, gates·hidden, hidden]
    /// stored as integers with one scale per gate row and read through DequantizeLinear; the recurrence runs in float
    /// (ONNX has no integer LSTM/GRU/RNN; dynamic mode gives LSTMs ONNX Runtime's integer DynamicQuantizeLSTM).
    /// </summary>
    private bool AddRecurrentWeights(NodeProto node, GraphIndex index, QuantizationConfig config)
    {
        bool any = false;
        foreach (int i in new[] { 1, 2 })
        {
            if (node.Input.Count > i && index.Initializers.TryGetValue(node.Input[i], out var init) && init.Dims.Count == 3 && index.IsFloat(node.Input[i]))
            {
                Add(new PlannedTensor(node.Input[i], TensorRole.Weight, config.WeightScheme(node.OpType, 1, 2, node.Name), node.Name));
                any = true;
            }
        }

        return any;
    }

    /// <summary>Plans one activation input of <paramref name="node"/> (a pattern's entry); true if it is (or already was) planned.</summary>
    private bool AddActivation(string t, NodeProto node, GraphIndex index, QuantizationConfig config, HashSet<string> inside)
    {
        if (t.Length == 0 || inside.Contains(t) || !index.IsFloat(t) || index.IsInitializer(t) || (index.GraphInputs.Contains(t) && !config.QuantizeModelInputs))
        {
            return this[t] is { Role: TensorRole.Activation };
        }

        Add(new PlannedTensor(t, TensorRole.Activation, config.ActivationScheme(node.OpType, node.Name), node.Name, ObserverFor(config, t)));
        return true;
    }

    /// <summary>The weight's scheme with its channel axis (per-channel) or reduction axis (blocked) resolved for this op.</summary>
    private static QuantScheme WeightScheme(NodeProto node, TensorProto init, WeightRole role, QuantizationConfig config)
    {
        int rank = init.Dims.Count;
        int channelAxis = role.ChannelAxis < 0 ? rank + role.ChannelAxis : role.ChannelAxis;
        int reductionAxis = node.OpType switch
        {
            "Conv" => 1,
            "ConvTranspose" => 0,
            "Gemm" => OpCatalog.Attribute(node, "transB", 0L) != 0 ? 1 : 0,
            _ => rank - 2,
        };
        var scheme = config.WeightScheme(node.OpType, channelAxis, reductionAxis, node.Name);
        return rank < 2 ? scheme.WithGranularity(QuantGranularity.PerTensor) : scheme;
    }

    /// <summary>Plans the node's output (all outputs of Split); value-moving ops reuse their input's encoding.</summary>
    private void AddOutputs(NodeProto node, GraphIndex index, QuantizationConfig config, HashSet<string> inside)
    {
        var activation = config.ActivationScheme(node.OpType, node.Name);
        foreach (var output in node.OpType == "Split" ? node.Output : node.Output.Take(1))
        {
            if (output.Length == 0 || inside.Contains(output) || !index.IsFloat(output) || (index.GraphOutputs.Contains(output) && !config.QuantizeModelOutputs))
            {
                continue;
            }

            // (A constant data input too: a Gather from an embedding table outputs some of its codes, so ONNX Runtime
            // gathers the int8 codes instead of dequantizing the whole table on every run.)
            if (OpCatalog.SharesInputEncoding(node.OpType) && this[node.Input[0]] is { Role: TensorRole.Activation or TensorRole.Constant } source)
            {
                Add(new PlannedTensor(output, TensorRole.Activation, source.Scheme, node.Name, source.Observer, source.SharesEncodingWith ?? source.Name));
            }
            else
            {
                // Softmax outputs probabilities: the fixed [0, 1] encoding (AIMET's constraint for Qualcomm's HTP), whatever calibration sees.
                Add(new PlannedTensor(output, TensorRole.Activation, activation, node.Name, ObserverFor(config, output))
                {
                    FixedRange = config.For(node.OpType, node.Name).OutputRange is [var min, var max] ? (min, max) : node.OpType == "Softmax" ? (0f, 1f) : null,
                });
            }
        }
    }

    /// <summary>Plans an int32 bias for a Conv/Gemm whose weight (not blocked) and activation input are quantized.</summary>
    private void AddBias(NodeProto node, GraphIndex index, QuantizationConfig config)
    {
        if (config.QuantizeBias && OpCatalog.Weight(node) is { BiasInput: >= 0 } br && node.Input.Count > br.BiasInput && node.Input[br.BiasInput] is { Length: > 0 } bias
            && index.Initializers.TryGetValue(bias, out var biasInit) && biasInit.Dims.Count == 1 && index.IsFloat(bias)
            && this[node.Input[br.WeightInput]] is { Role: TensorRole.Weight } weight && weight.Scheme.Granularity.Kind != QuantGranularityKind.PerBlock
            && this[node.Input[0]] is { Role: TensorRole.Activation } input)
        {
            Add(new PlannedTensor(bias, TensorRole.Bias, weight.Scheme, node.Name, BiasInput: input.Name, BiasWeight: weight.Name));
        }
    }
}
