namespace Quant.Net.Onnx;

/// <summary>Static (calibrated activation ranges) or dynamic (activation ranges computed at run time) quantization.</summary>
public enum QuantizationMode
{
    /// <summary>Calibrated QDQ model: every activation gets a fixed encoding.</summary>
    Static,

    /// <summary>MatMul/Gemm weights int8, activations quantized at run time (DynamicQuantizeLinear + MatMulInteger); no calibration.</summary>
    Dynamic,
}
