namespace Quant.Net.Onnx;

/// <summary>Progress of a long step: which stage, how many items are done, how many there are (if known).</summary>
/// <param name="Stage">What is running (for example "calibration", "evaluation").</param>
/// <param name="Done">Items finished.</param>
/// <param name="Total">Items in all, if known.</param>
public sealed record QuantizationProgress(string Stage, int Done, int? Total);
