namespace Quant.Net.Rounding;

/// <summary>What AdaRound produced for one layer.</summary>
/// <param name="Codes">Integer codes of W [out, in] (zero point included), within the scheme's range.</param>
/// <param name="Weights">The quantized weights (codes − zero point) · scale, [out, in].</param>
/// <param name="NearestMse">Reconstruction MSE of the layer output with round-to-nearest weights (all rows given).</param>
/// <param name="AdaRoundMse">Reconstruction MSE with the AdaRound weights.</param>
/// <param name="ChangedFromNearest">How many weights round differently from round-to-nearest.</param>
public sealed record AdaRoundResult(int[] Codes, float[] Weights, double NearestMse, double AdaRoundMse, int ChangedFromNearest)
{
    /// <summary>For example "AdaRoundResult { 4608 codes, reconstruction MSE 1.2E-03 (nearest) → 4.5E-04, 312 changed from nearest }".</summary>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"AdaRoundResult {{ {Codes.Length} codes, reconstruction MSE {NearestMse:G3} (nearest) → {AdaRoundMse:G3}, {ChangedFromNearest} changed from nearest }}");
}
