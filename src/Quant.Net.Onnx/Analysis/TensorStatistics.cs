namespace Quant.Net.Onnx;

/// <summary>Value range, chosen encoding range and histogram of one quantized tensor.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="Role">Activation, weight or constant.</param>
/// <param name="Node">The node that quantizes it.</param>
/// <param name="Min">Smallest value seen (activations: over the calibration data).</param>
/// <param name="Max">Largest value seen.</param>
/// <param name="EncodingMin">Lowest representable value of the encoding (per-channel: the lowest over channels).</param>
/// <param name="EncodingMax">Highest representable value (per-channel: the highest).</param>
/// <param name="BitWidth">Bits of the encoding.</param>
/// <param name="HistogramMin">Left edge of the first bin.</param>
/// <param name="HistogramMax">Right edge of the last bin.</param>
/// <param name="Histogram">Counts of equal-width bins over [HistogramMin, HistogramMax].</param>
/// <param name="ClippedFraction">Fraction of the values outside the encoding range (per-tensor encodings; 0 for per-channel).</param>
public sealed record TensorStatistics(string Name, TensorRole Role, string Node, double Min, double Max, double EncodingMin, double EncodingMax, int BitWidth,
    double HistogramMin, double HistogramMax, IReadOnlyList<long> Histogram, double ClippedFraction)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);
}
