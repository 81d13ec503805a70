namespace Quant.Net.Kernels;

/// <summary>How the block GEMV/GEMM treats activations.</summary>
public enum BlockGemmMode
{
    /// <summary>FP32 activations: each block is dequantized in registers and multiplied in float (ONNX Runtime's accuracy level 0/1).</summary>
    FloatActivations,

    /// <summary>
    /// Activations quantized on the fly to int8 per block (symmetric, scale = absmax / 127), integer dot products
    /// (VNNI / SDOT), then one float multiply-add per block with the product of the two scales (ORT's accuracy level 4).
    /// Exact against the scalar reference on every path.
    /// </summary>
    Int8Activations,
}
