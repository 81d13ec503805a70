namespace Quant.Net.Onnx;

/// <summary>The AIMET encodings file format versions this package reads and writes.</summary>
public enum AimetEncodingsVersion
{
    /// <summary>Version 0.6.1: dictionaries keyed by tensor name, one entry per channel, min/max/scale/offset.</summary>
    Version061,

    /// <summary>Version 1.0.0: lists of named entries with <c>enc_type</c>, <c>bw</c>, <c>is_sym</c>, scale and offset arrays.</summary>
    Version100,

    /// <summary>
    /// Version 2.0.0: one <c>encodings</c> list in ONNX QuantizeLinear terms (<c>output_dtype</c>, <c>y_scale</c>,
    /// <c>y_zero_point</c> in the scales' shape, <c>axis</c>, <c>block_size</c>); no quantizer_args.
    /// </summary>
    Version200,
}
