using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// Gated activations that exporters write as several nodes — HardSwish as <c>x · Clip(x + 3, 0, 6) / 6</c> or
/// <c>x · HardSigmoid(x)</c>, Swish/SiLU as <c>x · Sigmoid(x)</c>, GELU as <c>x · 0.5 · (1 + Erf(x / √2))</c> —
/// found as <c>Mul(x, g(x))</c> where g is a chain of elementwise ops on x alone, optionally followed by scales and
/// shifts by constants. Like a supergroup, the pattern is one quantized op: nothing inside it gets a quantizer, its output does.
/// </summary>
internal static class ActivationPatterns
{
    private static readonly HashSet<string> Gate = new(StringComparer.Ordinal)
    {
        "Add", "Sub", "Mul", "Div", "Clip", "Relu", "Sigmoid", "HardSigmoid", "Erf", "Tanh", "Softplus",
    };

    /// <summary>The tensors inside each found pattern and the node whose output ends it.</summary>
    public static (HashSet<string> Inside, HashSet<string> Tails) Find(GraphIndex index)
    {
        var inside = new HashSet<string>(StringComparer.Ordinal);
        var tails = new HashSet<string>(StringComparer.Ordinal);
        foreach (var mul in index.Graph.Node.Where(n => n.OpType == "Mul" && n.Input.Count == 2 && n.Domain is "" or "ai.onnx"))
        {
            for (int side = 0; side < 2; side++)
            {
                string x = mul.Input[side];
                var chain = GateChain(index, mul.Input[1 - side], x);
                if (chain is null)
                {
                    continue;
                }

                inside.UnionWith(chain);
                // A scale or shift by a constant after the gate (GELU's 0.5, HardSwish's 1/6, a learned affine) joins it.
                var tail = mul;
                while (index.Consumers(tail.Output[0]) is [var next] && next.OpType is "Mul" or "Div" or "Add" or "Sub" && !index.GraphOutputs.Contains(tail.Output[0])
                    && next.Input.Count == 2 && next.Input[0] == tail.Output[0] && IsScalarConstant(index, next.Input[1]))
                {
                    inside.Add(tail.Output[0]);
                    tail = next;
                }

                tails.Add(tail.Name);
                break;
            }
        }

        return (inside, tails);
    }

    /// <summary>The tensors from x (exclusive) to <paramref name="gate"/> (inclusive) if every op between is elementwise on x and constants, each read once.</summary>
    private static List<string>? GateChain(GraphIndex index, string gate, string x)
    {
        var tensors = new List<string>();
        string current = gate;
        for (int depth = 0; depth < 6; depth++)
        {
            if (current == x)
            {
                return tensors.Count > 0 ? tensors : null;
            }

            var producer = index.Producer(current);
            if (producer is null || !Gate.Contains(producer.OpType) || index.Consumers(current).Count != 1 || index.GraphOutputs.Contains(current))
            {
                return null;
            }

            var variable = producer.Input.Where(i => i.Length > 0 && !IsScalarConstant(index, i)).ToList();
            if (variable.Count != 1)
            {
                return null;
            }

            tensors.Add(current);
            current = variable[0];
        }

        return null;
    }

    private static bool IsScalarConstant(GraphIndex index, string tensor) =>
        index.Initializers.TryGetValue(tensor, out var t) && TensorData.ElementCount(t) == 1;
}
