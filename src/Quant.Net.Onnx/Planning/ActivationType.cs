namespace Quant.Net.Onnx;

// The members name ONNX element types on purpose (CA1720 would have them renamed away from what users look for).
#pragma warning disable CA1720
/// <summary>Data type of quantized activations.</summary>
public enum ActivationType
{
    /// <summary>uint8 codes [0, 255] (ONNX Runtime's fastest CPU path with int8 weights).</summary>
    UInt8,

    /// <summary>int8 codes [-128, 127].</summary>
    Int8,

    /// <summary>uint16 codes (needs opset 21).</summary>
    UInt16,

    /// <summary>int16 codes (needs opset 21).</summary>
    Int16,

    /// <summary>uint4 codes [0, 15] (needs opset 21): for networks trained with 4-bit activations.</summary>
    UInt4,
}
#pragma warning restore CA1720
