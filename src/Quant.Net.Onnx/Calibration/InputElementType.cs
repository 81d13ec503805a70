namespace Quant.Net.Onnx;

// The members name ONNX element types on purpose (CA1720 would have them renamed away from what users look for).
#pragma warning disable CA1720

/// <summary>The element type of an <see cref="InputTensor"/>: the ONNX tensor type of the model input it feeds (values are ONNX's type codes).</summary>
public enum InputElementType
{
    /// <summary>float32 (ONNX FLOAT).</summary>
    Float = 1,

    /// <summary>uint8 (ONNX UINT8): raw image bytes.</summary>
    UInt8 = 2,

    /// <summary>int32 (ONNX INT32).</summary>
    Int32 = 6,

    /// <summary>int64 (ONNX INT64): token ids, indices, masks.</summary>
    Int64 = 7,
}
#pragma warning restore CA1720
