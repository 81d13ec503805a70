namespace Quant.Net.Onnx;

/// <summary>Where an external tensor's bytes are: a checked file path and a range inside it.</summary>
internal readonly record struct ExternalRange(string File, long Offset, long Length);
