using System.Text.Json;

namespace Quant.Net.Onnx;

/// <summary>Everything <see cref="QuantAnalyzer.Analyze"/> measured.</summary>
/// <param name="ScoreName">What the scores measure.</param>
/// <param name="Fp32Score">The FP32 model's score.</param>
/// <param name="QuantizedScore">Every group quantized.</param>
/// <param name="WeightOnlyScore">Only weights (and constants) quantized, activations FP32.</param>
/// <param name="ActivationOnlyScore">Only activations quantized, weights FP32.</param>
/// <param name="Groups">Per quantizer group, in graph order.</param>
/// <param name="Tensors">Per quantized tensor.</param>
/// <param name="Layers">Per quantized activation: SQNR, cosine and MSE against FP32 (everything quantized).</param>
public sealed record QuantAnalysis(string ScoreName, double Fp32Score, double QuantizedScore, double WeightOnlyScore, double ActivationOnlyScore,
    IReadOnlyList<GroupSensitivity> Groups, IReadOnlyList<TensorStatistics> Tensors, IReadOnlyList<LayerComparison> Layers)
{
    /// <summary>True when the scores are accuracies (<see cref="ModelScore.IsAccuracy"/>): fractions printed as percentages.</summary>
    public bool ScoreIsAccuracy { get; init; }

    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);

    /// <summary>The analysis as JSON (for programs; the report shows the same numbers).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, ReportJson.Options);
}
