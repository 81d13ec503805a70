namespace Quant.Net.Onnx;

/// <summary>
/// Calibration samples checked as they are read, for every step that reads them (outlier smoothing runs before
/// calibration, bias correction and AdaRound after it): a sample with no elements or a NaN or infinite value is
/// refused naming the sample and input, instead of turning ranges, smoothing factors or corrections into NaN.
/// </summary>
internal sealed class CheckedCalibrationData(ICalibrationDataSource inner) : ICalibrationDataSource
{
    public int? Count => inner.Count;

    /// <summary>A source that checks <paramref name="source"/>'s samples (null stays null; a checked source is not wrapped twice).</summary>
    public static ICalibrationDataSource? Of(ICalibrationDataSource? source) => source is null or CheckedCalibrationData ? source : new CheckedCalibrationData(source);

    /// <exception cref="InvalidDataException">A sample holds an input with no elements or a non-finite value (named).</exception>
    public IEnumerable<IReadOnlyDictionary<string, InputTensor>> GetSamples(CancellationToken cancellationToken = default)
    {
        int index = 0;
        foreach (var sample in inner.GetSamples(cancellationToken))
        {
            foreach (var (name, tensor) in sample)
            {
                if (tensor.Data.Length == 0)
                {
                    throw new InvalidDataException($"Calibration sample {index}: input '{name}' has no elements.");
                }

                if (tensor.Data is float[] floats && Array.FindIndex(floats, v => !float.IsFinite(v)) is >= 0 and int bad)
                {
                    throw new InvalidDataException($"Calibration sample {index}: input '{name}' holds {floats[bad]} at element {bad}; calibration data must be finite.");
                }
            }

            index++;
            yield return sample;
        }
    }
}
