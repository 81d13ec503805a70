namespace Quant.Net.Onnx;

/// <summary>One step of <see cref="PtqPipeline"/> and what it bought.</summary>
/// <param name="Step">What was added ("nearest", "+ cross-layer equalization", "+ AdaRound", "+ bias correction").</param>
/// <param name="Score">The evaluation callback's score of the model after this step (higher is better).</param>
/// <param name="Drop">FP32 score minus <paramref name="Score"/>.</param>
/// <param name="Elapsed">Time the step's quantization took.</param>
public sealed record PtqStepReport(string Step, double Score, double Drop, TimeSpan Elapsed);
