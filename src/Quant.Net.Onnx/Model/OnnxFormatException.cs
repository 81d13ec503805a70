namespace Quant.Net.Onnx;

/// <summary>
/// A model file or graph that cannot be read or quantized: truncated or garbage bytes, a node input that nothing
/// produces, a missing initializer, an unsupported construct. The message names the node or tensor at fault.
/// </summary>
public sealed class OnnxFormatException : FormatException
{
    /// <summary>Creates the exception with a message naming the node or tensor at fault.</summary>
    public OnnxFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public OnnxFormatException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with a default message.</summary>
    public OnnxFormatException() : base("The ONNX model is not valid.") { }
}
