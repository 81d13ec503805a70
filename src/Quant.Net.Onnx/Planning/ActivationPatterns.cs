using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// Multi-node activations and normalizations exporters write, each found as one <see cref="GraphPattern"/>:
/// <list type="bullet">
/// <item>gated activations <c>Mul(x, g(x))</c> where g is a chain of elementwise ops on x alone — HardSwish as
/// <c>x · Clip(x + 3, 0, 6) / 6</c> or <c>x · HardSigmoid(x)</c>, Swish/SiLU as <c>x · Sigmoid(x)</c>, GELU as
/// <c>x · 0.5 · (1 + Erf(x / √2))</c> or in its tanh form <c>0.5 · x · (1 + Tanh(√(2/π) · (x + 0.044715 · x³)))</c> —
/// optionally followed by scales and shifts by constants;</item>
/// <item>LayerNorm decomposed as PyTorch exports it: <c>(x − mean(x)) / √(mean((x − mean(x))²) + ε)</c>, optionally
/// times γ plus β: its statistics (mean, variance, root) are never quantized.</item>
/// </list>
/// </summary>
internal static class ActivationPatterns
{
    private static readonly HashSet<string> Gate = new(StringComparer.Ordinal)
    {
        "Add", "Sub", "Mul", "Div", "Clip", "Relu", "Sigmoid", "HardSigmoid", "Erf", "Tanh", "Softplus", "Pow",
    };

    public static List<GraphPattern> Find(GraphIndex index)
    {
        var patterns = new List<GraphPattern>();
        var taken = new HashSet<NodeProto>();
        foreach (var node in index.Graph.Node.Where(n => n.Domain is "" or "ai.onnx"))
        {
            var pattern = node.OpType switch
            {
                "Div" => LayerNorm(index, node),
                "Mul" => Gated(index, node),
                _ => null,
            };
            if (pattern is not null && !pattern.Members.Any(taken.Contains))
            {
                taken.UnionWith(pattern.Members);
                patterns.Add(pattern);
            }
        }

        return patterns;
    }

    private static GraphPattern? Gated(GraphIndex index, NodeProto mul)
    {
        if (mul.Input.Count != 2)
        {
            return null;
        }

        for (int side = 0; side < 2; side++)
        {
            string x = mul.Input[side];
            // 0.5 · x · g(x), as the tanh form of GELU is often written: the scaled x is part of the pattern.
            var scaled = index.Producer(x) is { OpType: "Mul", Input.Count: 2 } half && Private(index, x)
                && half.Input.Count(i => IsScalarConstant(index, i)) == 1 ? half : null;
            var chain = GateChain(index, mul.Input[1 - side], x);
            if (chain is null && scaled is not null)
            {
                x = scaled.Input.First(i => !IsScalarConstant(index, i));
                chain = GateChain(index, mul.Input[1 - side], x);
            }
            else
            {
                scaled = null;
            }

            if (chain is null)
            {
                continue;
            }

            var members = new List<NodeProto>(chain);
            if (scaled is not null)
            {
                members.Add(scaled);
            }

            members.Add(mul);
            var tail = ExtendAffine(index, mul, members);
            string kind = chain.Any(n => n.OpType is "Erf" or "Tanh") ? "GELU" : chain.Any(n => n.OpType is "Clip" or "HardSigmoid") ? "HardSwish"
                : chain.Any(n => n.OpType == "Sigmoid") ? "Swish" : "gated activation";
            return new GraphPattern(kind, x, members, tail);
        }

        return null;
    }

    /// <summary>Scales and shifts by constants after <paramref name="last"/> (GELU's 0.5, HardSwish's 1/6, a learned affine, LayerNorm's γ and β) join the pattern.</summary>
    private static NodeProto ExtendAffine(GraphIndex index, NodeProto last, List<NodeProto> members)
    {
        var tail = last;
        while (index.Consumers(tail.Output[0]) is [var next] && next.OpType is "Mul" or "Div" or "Add" or "Sub" && !index.GraphOutputs.Contains(tail.Output[0])
            && next.Input.Count == 2 && next.Input[0] == tail.Output[0] && index.IsInitializer(next.Input[1]))
        {
            members.Add(next);
            tail = next;
        }

        return tail;
    }

    /// <summary>The nodes from x (exclusive) to <paramref name="gate"/> if every op between is elementwise on x and scalar constants, each output read once.</summary>
    private static List<NodeProto>? GateChain(GraphIndex index, string gate, string x)
    {
        var nodes = new List<NodeProto>();
        string current = gate;
        for (int depth = 0; depth < 6; depth++)
        {
            if (current == x)
            {
                nodes.Reverse();
                return nodes.Count > 0 ? nodes : null;
            }

            var producer = index.Producer(current);
            if (producer is null || !Gate.Contains(producer.OpType) || !Private(index, current))
            {
                return null;
            }

            var variable = producer.Input.Where(i => i.Length > 0 && !IsScalarConstant(index, i)).ToList();
            if (variable.Count == 2 && variable.Contains(x) && producer.OpType is "Add" or "Mul")
            {
                // x + c·x³ (the tanh form of GELU): the other operand must itself be a chain on x alone (x · x reaches x twice).
                var other = variable.FirstOrDefault(v => v != x);
                var branch = other is null ? [] : GateChain(index, other, x);
                if (branch is null)
                {
                    return null;
                }

                nodes.Add(producer);
                nodes.AddRange(branch.AsEnumerable().Reverse());
                nodes.Reverse();
                return nodes;
            }

            if (variable.Count != 1)
            {
                return null;
            }

            nodes.Add(producer);
            current = variable[0];
        }

        return null;
    }

    /// <summary>
    /// LayerNorm as PyTorch decomposes it, matched from its Div: <c>d = x − ReduceMean(x)</c>,
    /// <c>s = Sqrt(ReduceMean(d²) + ε)</c>, <c>d / s</c>, then γ and β.
    /// </summary>
    private static GraphPattern? LayerNorm(GraphIndex index, NodeProto div)
    {
        if (div.Input.Count != 2 || index.Producer(div.Input[0]) is not { OpType: "Sub" } sub || index.Producer(div.Input[1]) is not { OpType: "Sqrt" } sqrt
            || index.Producer(sqrt.Input[0]) is not { OpType: "Add" } addEps || addEps.Input.Count != 2
            || index.Producer(sub.Input[1]) is not { OpType: "ReduceMean" } mean || mean.Input[0] != sub.Input[0])
        {
            return null;
        }

        string x = sub.Input[0], d = sub.Output[0];
        var variance = addEps.Input.Select(index.Producer).FirstOrDefault(p => p is { OpType: "ReduceMean" });
        string? eps = addEps.Input.FirstOrDefault(i => IsScalarConstant(index, i));
        if (variance is null || eps is null || index.Producer(variance.Input[0]) is not { } square
            || !(square.OpType == "Pow" && square.Input[0] == d && square.Input.Count == 2 && IsScalarConstant(index, square.Input[1])
                || square.OpType == "Mul" && square.Input.Count == 2 && square.Input[0] == d && square.Input[1] == d))
        {
            return null;
        }

        // Every intermediate tensor is read inside the pattern only (d by the square and the Div).
        var members = new List<NodeProto> { mean, sub, square, variance, addEps, sqrt, div };
        if (index.Consumers(d).Any(c => !members.Contains(c)) || members.Where(m => m != div && m != sub).Any(m => !Private(index, m.Output[0])))
        {
            return null;
        }

        var tail = ExtendAffine(index, div, members);
        return new GraphPattern("LayerNorm", x, members, tail);
    }

    private static bool Private(GraphIndex index, string tensor) => index.Consumers(tensor).Count == 1 && !index.GraphOutputs.Contains(tensor);

    private static bool IsScalarConstant(GraphIndex index, string tensor) =>
        index.Initializers.TryGetValue(tensor, out var t) && TensorData.ElementCount(t) == 1;
}
