namespace Quant.Net.Onnx;

/// <summary>The role of a quantized tensor in the graph.</summary>
public enum TensorRole
{
    /// <summary>A run-time tensor whose range comes from calibration.</summary>
    Activation,

    /// <summary>A weight initializer of Conv/ConvTranspose/Gemm/MatMul.</summary>
    Weight,

    /// <summary>A bias initializer, stored as int32 with scale = input scale × weight scale.</summary>
    Bias,

    /// <summary>A constant initializer feeding an element-wise op (quantized like an activation, range from its values).</summary>
    Constant,
}
