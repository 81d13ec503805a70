namespace Quant.Net.Onnx;

/// <summary>The default-domain opset a QDQ model is written at, and whether its Q/DQ nodes are ONNX Runtime's com.microsoft ones.</summary>
internal readonly record struct QdqOpset(int Version, bool Microsoft = false)
{
    /// <summary>How an already written model was made (for rewriting it with other encodings).</summary>
    public static QdqOpset Of(OnnxModel model) =>
        new(model.OpsetVersion, model.Graph.Node.Any(n => n.OpType is "QuantizeLinear" or "DequantizeLinear" && n.Domain == "com.microsoft"));
}
