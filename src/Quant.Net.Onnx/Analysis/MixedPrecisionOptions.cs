using System.Text.Json;
using Quant.Net.Techniques;

namespace Quant.Net.Onnx;

/// <summary>Settings of <see cref="MixedPrecision.Search"/>.</summary>
public sealed record MixedPrecisionOptions
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);

    /// <summary>Choices per layer; the most expensive is the starting point. Defaults: W16A16, W8A16, W8A8, W4A8.</summary>
    public IReadOnlyList<PrecisionCandidate> Candidates { get; init; } =
        [PrecisionCandidate.W16A16, PrecisionCandidate.W8A16, PrecisionCandidate.W8A8, PrecisionCandidate.W4A8];

    /// <summary>Largest allowed score drop from FP32 (in the score's units: 0.5 for half a point of accuracy in percent).</summary>
    public double AllowedDrop { get; init; } = 0.5;
}
