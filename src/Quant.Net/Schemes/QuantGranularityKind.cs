namespace Quant.Net;

/// <summary>How many encodings a tensor gets: one, one per channel along an axis, or one per block of a channel.</summary>
public enum QuantGranularityKind
{
    /// <summary>One scale and zero point for the whole tensor.</summary>
    PerTensor = 0,

    /// <summary>One scale and zero point per index along <see cref="QuantGranularity.Axis"/> (ONNX per-axis quantization).</summary>
    PerChannel = 1,

    /// <summary>
    /// One scale and zero point per block of <see cref="QuantGranularity.BlockSize"/> consecutive indices along
    /// <see cref="QuantGranularity.Axis"/> (ONNX opset 21 blocked quantization): the scale tensor has the input's shape
    /// with the axis dimension replaced by <c>ceil(D / BlockSize)</c>.
    /// </summary>
    PerBlock = 2,
}
