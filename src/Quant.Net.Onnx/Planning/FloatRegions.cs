using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// Where a graph keeps float although its ops are quantizable, because no integer kernel would read the quantized
/// value and 8 bits per tensor would lose what the float path keeps (unless <see cref="QuantizationConfig.FullInteger"/>):
/// <list type="bullet">
/// <item>LayerNorms (the op and the decomposed pattern) read their input in float: it is a transformer's residual
/// stream, whose few outlier channels (20–100× the rest in pretrained encoders) take a per-tensor 8-bit range for
/// themselves; the runtimes compute the statistics in float anyway. Multi-node activations (GELU, Swish, HardSwish)
/// and opset 20's Gelu op are likewise computed in float from their input as it comes (ONNX Runtime has no integer kernel for them, and
/// fuses GELU when its input is not split by Q/DQ). Their output is quantized where an integer op reads it.</item>
/// <item>Elementwise Add/Sub/Mul/Div whose result only float readers use (the residual Adds, an attention score's
/// scaling) stay float, and so do their inputs unless another reader needs them quantized — decided from the outputs
/// backwards, so chains of such ops (embedding sums) follow.</item>
/// <item>Elementwise ops by a constant (a scale or shift, an outlier-smoothing factor) are computed in float: their
/// result is quantized where an integer op reads it, their input only if its producer is itself quantized.</item>
/// <item>A MatMul (or its bias Add) whose result only float readers use has no output quantizer: ONNX Runtime runs it as
/// an integer MatMul with float output (MatMulIntegerToFloat), without a requantization step.</item>
/// </list>
/// A tensor produced by a float op and quantized for one reader is read in float by the others (<see cref="PlannedTensor.FloatReaders"/>).
/// </summary>
internal sealed class FloatRegions
{
    private readonly GraphIndex _index;
    private readonly Func<NodeProto, bool> _quantizable;
    private readonly Dictionary<string, GraphPattern> _patternOfMember = new(StringComparer.Ordinal);

    /// <summary>Quantizable nodes that stay float (LayerNorms, elementwise ops feeding only float readers).</summary>
    public HashSet<string> Nodes { get; } = new(StringComparer.Ordinal);

    /// <summary>Quantized nodes (MatMul, or a supergroup tail after one) whose output gets no quantizer.</summary>
    public HashSet<string> FloatOutputs { get; } = new(StringComparer.Ordinal);

    private FloatRegions(GraphIndex index, Func<NodeProto, bool> quantizable, IEnumerable<GraphPattern> patterns)
    {
        _index = index;
        _quantizable = quantizable;
        foreach (var pattern in patterns)
        {
            foreach (var member in pattern.Members)
            {
                _patternOfMember[member.Name] = pattern;
            }
        }
    }

    /// <summary>Finds the float regions of a topologically sorted graph.</summary>
    /// <param name="index">The graph.</param>
    /// <param name="quantizable">Whether the plan would quantize a node at all.</param>
    /// <param name="patterns">Multi-node ops (their members are not quantizable on their own).</param>
    /// <param name="supergroupHeads">Supergroup tail node → the chain's head.</param>
    /// <param name="keepOutputs">Graph outputs are quantized (<see cref="QuantizationConfig.QuantizeModelOutputs"/>).</param>
    /// <param name="fullInteger">Nothing quantizable stays float (<see cref="QuantizationConfig.FullInteger"/>); only readers that are not quantized ops read float.</param>
    public static FloatRegions Find(GraphIndex index, Func<NodeProto, bool> quantizable, IReadOnlyList<GraphPattern> patterns,
        IReadOnlyDictionary<string, NodeProto> supergroupHeads, bool keepOutputs, bool fullInteger)
    {
        var regions = new FloatRegions(index, quantizable, patterns);
        if (fullInteger)
        {
            return regions;
        }

        var tails = patterns.ToDictionary(p => p.Tail.Name, StringComparer.Ordinal);
        foreach (var node in index.Graph.Node)
        {
            // (Opset 20's Gelu op like the GELU pattern: no integer kernel computes it.)
            if ((node.OpType is "LayerNormalization" or "Gelu" && quantizable(node)) || tails.ContainsKey(node.Name))
            {
                regions.Nodes.Add(node.Name);
            }
        }

        var heads = supergroupHeads.Values.Select(h => h.Name).ToHashSet(StringComparer.Ordinal);
        for (int n = index.Graph.Node.Count - 1; n >= 0; n--)
        {
            var node = index.Graph.Node[n];
            if (!quantizable(node) || regions.Nodes.Contains(node.Name) || node.Output.Count == 0 || (keepOutputs && index.GraphOutputs.Contains(node.Output[0])))
            {
                continue;
            }

            bool elementwise = node.OpType is "Add" or "Sub" or "Mul" or "Div";
            bool grouped = heads.Contains(node.Name) || supergroupHeads.ContainsKey(node.Name);
            if (elementwise && !grouped && node.Input.Count(i => i.Length > 0 && !index.IsInitializer(i)) == 1)
            {
                // Scaling or shifting by a constant: done in float, its result quantized where an integer op reads it.
                regions.Nodes.Add(node.Name);
                continue;
            }

            if (!regions.ReadOnlyInFloat(node.Output[0], keepOutputs))
            {
                continue;
            }

            var head = supergroupHeads.GetValueOrDefault(node.Name);
            if (head is not null ? head.OpType == "MatMul" : node.OpType == "MatMul")
            {
                regions.FloatOutputs.Add(node.Name);
            }
            else if (elementwise && !grouped)
            {
                regions.Nodes.Add(node.Name);
            }
        }

        return regions;
    }

    /// <summary>Whether every reader of <paramref name="tensor"/> reads it in float (a graph output counts as a quantized reader when outputs are quantized).</summary>
    private bool ReadOnlyInFloat(string tensor, bool keepOutputs) =>
        !(keepOutputs && _index.GraphOutputs.Contains(tensor)) && _index.Consumers(tensor) is { Count: > 0 } readers && readers.All(c => ReadsFloat(c, tensor));

    /// <summary>Whether <paramref name="consumer"/> reads <paramref name="tensor"/> in float (no integer kernel or quantized op takes it there).</summary>
    public bool ReadsFloat(NodeProto consumer, string tensor)
    {
        if (_patternOfMember.TryGetValue(consumer.Name, out var pattern) && tensor == pattern.Input)
        {
            // A pattern quantizes its input where it enters, unless it stays float (a LayerNorm).
            return Nodes.Contains(pattern.Tail.Name);
        }

        if (!_quantizable(consumer) || Nodes.Contains(consumer.Name))
        {
            return true;
        }

        int count = OpCatalog.QuantizedInputCount(consumer.OpType) ?? consumer.Input.Count;
        for (int i = 0; i < consumer.Input.Count; i++)
        {
            if (consumer.Input[i] == tensor && i < count && !OpCatalog.IsParameterInput(consumer, i))
            {
                return false;
            }
        }

        return true;
    }
}
