namespace Quant.Net.Onnx;

/// <summary>How bias correction finds the expected output shift of quantized weights.</summary>
public enum BiasCorrectionMethod
{
    /// <summary>Measured layer by layer on the calibration data (FP32 vs quantized model outputs).</summary>
    Empirical = 0,

    /// <summary>
    /// (W̃ − W)·E[x] with E[x] from the BatchNorm (and ReLU) before the layer, no data needed; layers without such
    /// statistics fall back to empirical correction when calibration data is given.
    /// </summary>
    Analytical = 1,
}
