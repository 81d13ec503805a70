namespace Quant.Net.Onnx;

/// <summary>How <see cref="WeightOnlyQuantizer"/> rounds each layer's weights.</summary>
public enum WeightOnlyMethod
{
    /// <summary>Each block on its own, its range from <see cref="Kernels.BlockQuantizationOptions.Rounding"/> (nearest or MSE-searched); no data needed.</summary>
    Blockwise,

    /// <summary>
    /// GPTQ: each column's rounding error fed to the columns not yet rounded through the layer's input Hessian
    /// (<see cref="Kernels.BlockQuantizedWeights.QuantizeGptq"/>); block ranges follow
    /// <see cref="Kernels.BlockQuantizationOptions.Rounding"/>. Needs calibration data.
    /// </summary>
    Gptq,

    /// <summary>
    /// Each block's range searched for the smallest error of the layer's outputs on calibration data
    /// (<see cref="Kernels.BlockQuantizedWeights.QuantizeSeqMse"/>, AIMET's sequential-MSE idea per block). Needs
    /// calibration data.
    /// </summary>
    SeqMse,
}
