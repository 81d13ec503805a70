namespace Quant.Net.Onnx;

/// <summary>One evaluated model: its cost and score.</summary>
/// <param name="Label">What it is ("uniform W8A8", "step 3: conv1 → W4A8", ...).</param>
/// <param name="ModelBytes">Size of the quantized ONNX model.</param>
/// <param name="BitOps">Σ MACs × weight bits × activation bits over the layers, per sample.</param>
/// <param name="Score">Its score.</param>
/// <param name="Accepted">For search steps: kept (within budget); uniform points: whether within budget.</param>
public sealed record CostPoint(string Label, long ModelBytes, double BitOps, double Score, bool Accepted);
