namespace Quant.Net.Onnx;

// The members name ONNX element types on purpose (CA1720 would have them renamed away from what users look for).
#pragma warning disable CA1720
/// <summary>Data type of quantized weights (always signed; symmetric around zero).</summary>
public enum WeightType
{
    /// <summary>int8, narrow range [-127, 127].</summary>
    Int8,

    /// <summary>int4 [-8, 7], packed two per byte (needs opset 21).</summary>
    Int4,

    /// <summary>int16, narrow range [-32767, 32767] (needs opset 21).</summary>
    Int16,

    /// <summary>3-bit [-4, 3], stored in an INT4 initializer (needs opset 21): for studying very low bit widths.</summary>
    Int3,

    /// <summary>2-bit [-2, 1], stored in an INT4 initializer (needs opset 21): for networks trained at 2 bits.</summary>
    Int2,
}
#pragma warning restore CA1720
