namespace Quant.Net.Onnx;

/// <summary>AIMET's <c>enc_type</c> (format 1.0.0), plus floating-point entries (<c>dtype: FLOAT</c>).</summary>
public enum AimetEncodingType
{
    /// <summary>One scale and offset.</summary>
    PerTensor,

    /// <summary>One scale and offset per output channel.</summary>
    PerChannel,

    /// <summary>One scale and offset per block of <see cref="AimetTensorEncoding.BlockSize"/> inputs per output channel.</summary>
    PerBlock,

    /// <summary>
    /// Low-power blockwise quantization: a float scale per output channel times an unsigned integer scale per block
    /// (<see cref="AimetTensorEncoding.PerBlockIntScales"/>), codes of <see cref="AimetTensorEncoding.CompressedBitWidth"/> bits.
    /// </summary>
    Lpbq,

    /// <summary>Not quantized to integers: a floating-point type of <see cref="AimetTensorEncoding.BitWidth"/> bits (16 or 32).</summary>
    FloatingPoint,
}
