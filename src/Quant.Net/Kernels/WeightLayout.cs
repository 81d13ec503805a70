namespace Quant.Net.Kernels;

/// <summary>How a weight matrix is stored before packing.</summary>
public enum WeightLayout
{
    /// <summary>Row-major [K, N]: input features by output channels (ONNX MatMul's B).</summary>
    KByN = 0,
    /// <summary>Row-major [N, K]: output channels by input features (Gemm with transB = 1, Conv weights flattened, Linear layers).</summary>
    NByK = 1,
}
