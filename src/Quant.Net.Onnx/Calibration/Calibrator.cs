using Microsoft.ML.OnnxRuntime;
using Quant.Net.Observers;

namespace Quant.Net.Onnx;

/// <summary>
/// Runs the FP32 model in ONNX Runtime with the tensors to observe added as graph outputs, batch by batch, and streams
/// each into its observer: memory stays bounded by one batch's activations.
/// </summary>
internal static class Calibrator
{
    public static IObserver CreateObserver(ObserverKind kind, QuantizationConfig config) => kind switch
    {
        ObserverKind.MovingAverage => new MovingAverageMinMaxObserver(),
        ObserverKind.Mse => new HistogramMseObserver(),
        ObserverKind.Entropy => new EntropyObserver(),
        ObserverKind.Percentile => new PercentileObserver(config.Percentile),
        ObserverKind.Sqnr => new SqnrObserver(),
        _ => new MinMaxObserver(),
    };

    public static Dictionary<string, IObserver> Observe(OnnxModel prepared, IReadOnlyList<PlannedTensor> tensors, ICalibrationDataSource source,
        QuantizationConfig config, IProgress<QuantizationProgress>? progress, CancellationToken cancellationToken)
    {
        var observers = tensors.ToDictionary(t => t.Name, t => CreateObserver(t.Observer, config), StringComparer.Ordinal);
        if (observers.Count == 0)
        {
            return observers;
        }

        var augmented = OrtSessions.WithOutputs(prepared, observers.Keys);
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC };
        using var session = OrtSessions.Create(augmented, options, "model for calibration");
        var inputs = prepared.Inputs;
        string[] inputNames = [.. inputs.Select(i => i.Name)];
        string[] outputNames = [.. observers.Keys];
        using var runOptions = new RunOptions();
        int done = 0;
        progress?.Report(new QuantizationProgress("calibration", 0, source.Count));
        foreach (var (batch, count) in OrtSessions.Batches(source, inputs, config.CalibrationBatchSize, cancellationToken))
        {
            foreach (string name in inputNames)
            {
                // Empty or non-finite inputs would calibrate ranges of nothing (scale 1) or of NaN.
                var data = batch[name].Data;
                if (data.Length == 0)
                {
                    throw new InvalidDataException($"Calibration samples {done}..{done + count - 1}: input '{name}' has no elements.");
                }

                if (data is float[] floats && Array.FindIndex(floats, v => !float.IsFinite(v)) is >= 0 and int bad)
                {
                    throw new InvalidDataException($"Calibration samples {done}..{done + count - 1}: input '{name}' holds {floats[bad]} at element {bad}; calibration data must be finite.");
                }
            }

            var values = inputNames.Select(n => batch[n].ToOrtValue()).ToArray();
            try
            {
                using var results = session.Run(runOptions, inputNames, values, outputNames);
                for (int i = 0; i < outputNames.Length; i++)
                {
                    var value = results[i];
                    var info = value.GetTensorTypeAndShape();
                    if (info.ElementDataType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)
                    {
                        throw new OnnxFormatException($"Tensor '{outputNames[i]}' is {info.ElementDataType}, not float; it cannot be calibrated.");
                    }

                    observers[outputNames[i]].Observe(value.GetTensorDataAsSpan<float>());
                }
            }
            catch (OnnxRuntimeException e)
            {
                throw new InvalidDataException($"ONNX Runtime failed on calibration samples {done}..{done + count - 1}: {OrtSessions.Describe(e)}", e);
            }
            finally
            {
                foreach (var v in values)
                {
                    v.Dispose();
                }
            }

            done += count;
            progress?.Report(new QuantizationProgress("calibration", done, source.Count));
        }

        if (done == 0)
        {
            throw new InvalidDataException("The calibration source yielded no samples.");
        }

        return observers;
    }
}
