namespace Quant.Net.Onnx;

/// <summary>How activation ranges are chosen from calibration data.</summary>
public enum ObserverKind
{
    /// <summary>Smallest and largest value seen.</summary>
    MinMax,

    /// <summary>Moving average of per-batch min and max.</summary>
    MovingAverage,

    /// <summary>Range minimizing the expected quantization MSE over the histogram.</summary>
    Mse,

    /// <summary>Range minimizing the KL divergence of the quantized histogram (TensorRT's entropy calibration).</summary>
    Entropy,

    /// <summary>Range covering a percentile of the values (<see cref="QuantizationConfig.Percentile"/>).</summary>
    Percentile,

    /// <summary>Range maximizing SQNR with a clipping penalty (AIMET's TF-enhanced style search).</summary>
    Sqnr,
}
