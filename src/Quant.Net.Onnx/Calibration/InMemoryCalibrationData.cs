namespace Quant.Net.Onnx;

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
