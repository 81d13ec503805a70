namespace Quant.Net.Onnx;

/// <summary>Which operator set the QuantizeLinear/DequantizeLinear nodes of a quantized model come from.</summary>
public enum QdqDomain
{
    /// <summary>
    /// ONNX's own, converting the model to the opset the types need (13 for 8-bit per-channel, 21 for 16-bit, 4-bit and
    /// block-wise); where conversion to 21 is impossible, ONNX Runtime's <c>com.microsoft</c> operators at the model's
    /// opset instead (16-bit and 4-bit types, not block-wise), and the preparation report says so.
    /// </summary>
    Auto,

    /// <summary>ONNX's own only: a model that cannot be converted to the opset needed is refused.</summary>
    Onnx,

    /// <summary>
    /// ONNX Runtime's <c>com.microsoft</c> QuantizeLinear/DequantizeLinear, which take 16-bit and 4-bit types at any opset:
    /// the model stays at its opset (at least 13). Runs in ONNX Runtime only; block-wise weights are not available.
    /// </summary>
    Microsoft,
}
