namespace Quant.Net.Onnx;

/// <summary>
/// Samples to calibrate activation ranges with: each sample maps every model input name to its tensor. Samples are
/// pulled one at a time, so a source can stream from disk and never hold the whole set.
/// </summary>
public interface ICalibrationDataSource
{
    /// <summary>Number of samples, if known (for progress reporting).</summary>
    int? Count { get; }

    /// <summary>Enumerates the samples; called once per pass.</summary>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    IEnumerable<IReadOnlyDictionary<string, InputTensor>> GetSamples(CancellationToken cancellationToken = default);
}
