namespace Quant.Net.Onnx;

/// <summary>The pipeline's outcome: the first result within the allowed drop (or the best one tried) and every step's report.</summary>
/// <param name="Result">The chosen quantization result.</param>
/// <param name="Fp32Score">Score of the FP32 model.</param>
/// <param name="Steps">Each step tried, in order.</param>
/// <param name="TargetMet">Whether <see cref="Result"/> is within the allowed drop.</param>
public sealed record PtqPipelineResult(QuantizationResult Result, double Fp32Score, IReadOnlyList<PtqStepReport> Steps, bool TargetMet)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);
}
