using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>
/// Several nodes quantized as one op: its input is quantized where it enters, its tail's output where it leaves, and
/// nothing in between (no quantizer on intermediate tensors, constants stay float).
/// </summary>
/// <param name="Kind">What the pattern is (for reports): "HardSwish", "GELU", "LayerNorm", ….</param>
/// <param name="Input">The activation entering the pattern.</param>
/// <param name="Members">Every node of the pattern, the tail included.</param>
/// <param name="Tail">The node whose output leaves the pattern.</param>
internal sealed record GraphPattern(string Kind, string Input, IReadOnlyList<NodeProto> Members, NodeProto Tail)
{
    /// <summary>Tensors produced inside the pattern other than the tail's output.</summary>
    public IEnumerable<string> Inside => Members.Where(m => !ReferenceEquals(m, Tail)).SelectMany(m => m.Output).Where(o => o.Length > 0);
}
