namespace Quant.Net.Onnx;

/// <summary>How weight-only quantized MatMuls are written.</summary>
public enum WeightOnlyFormat
{
    /// <summary>ONNX Runtime's <c>com.microsoft.MatMulNBits</c> (packed B, scales, optional packed zero points).</summary>
    MatMulNBits,

    /// <summary>Standard ONNX: an int4/uint4 (or int8/uint8) initializer, <c>DequantizeLinear</c> with <c>block_size</c> (opset 21), then the MatMul.</summary>
    DequantizeLinear,
}
