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

/// <summary>Calibration samples held in memory.</summary>
public sealed class InMemoryCalibrationData : ICalibrationDataSource
{
    private readonly IReadOnlyList<IReadOnlyDictionary<string, InputTensor>> _samples;

    /// <summary>Wraps a list of samples (input name → tensor).</summary>
    public InMemoryCalibrationData(IEnumerable<IReadOnlyDictionary<string, InputTensor>> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        _samples = [.. samples];
    }

    /// <summary>Samples for a model with one input.</summary>
    public static InMemoryCalibrationData ForSingleInput(string inputName, IEnumerable<InputTensor> samples)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputName);
        ArgumentNullException.ThrowIfNull(samples);
        return new InMemoryCalibrationData(samples.Select(s => (IReadOnlyDictionary<string, InputTensor>)new Dictionary<string, InputTensor>(StringComparer.Ordinal) { [inputName] = s }));
    }

    /// <inheritdoc/>
    public int? Count => _samples.Count;

    /// <inheritdoc/>
    public IEnumerable<IReadOnlyDictionary<string, InputTensor>> GetSamples(CancellationToken cancellationToken = default)
    {
        foreach (var s in _samples)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return s;
        }
    }
}
