using System.Diagnostics;
using Quant.Net.Rounding;

namespace Quant.Net.Onnx;

/// <summary>
/// Post-training quantization that stops as soon as it is good enough (AIMET's AutoQuant idea): BatchNorm folding and
/// calibration always, then cross-layer equalization, AdaRound and bias correction added one at a time, each kept only if
/// it improves the score, until the score is within <c>allowedDrop</c> of FP32.
/// </summary>
public static class PtqPipeline
{
    /// <summary>Runs the pipeline.</summary>
    /// <param name="model">The FP32 model.</param>
    /// <param name="calibrationData">Calibration (and AdaRound / bias correction) samples.</param>
    /// <param name="evaluate">Scores a model (for example accuracy on held-out data); higher is better.</param>
    /// <param name="allowedDrop">Largest acceptable FP32 score minus quantized score.</param>
    /// <param name="config">The base configuration (bit widths, granularity, observers).</param>
    /// <param name="adaRound">AdaRound settings for that step (AIMET defaults when null).</param>
    /// <param name="progress">Receives each step's report as it finishes.</param>
    /// <param name="cancellationToken">Stops the pipeline.</param>
    public static PtqPipelineResult Run(OnnxModel model, ICalibrationDataSource calibrationData, Func<OnnxModel, double> evaluate, double allowedDrop,
        QuantizationConfig? config = null, AdaRoundOptions? adaRound = null, IProgress<PtqStepReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(calibrationData);
        ArgumentNullException.ThrowIfNull(evaluate);
        ArgumentOutOfRangeException.ThrowIfNegative(allowedDrop);
        config ??= new QuantizationConfig();
        double fp32 = evaluate(model);
        var steps = new List<PtqStepReport>();
        var candidates = new (string Name, Func<QuantizationConfig, QuantizationConfig> Add)[]
        {
            ("nearest", c => c with { CrossLayerEqualization = false, AdaRound = null, BiasCorrection = false }),
            ("+ cross-layer equalization", c => c with { CrossLayerEqualization = true }),
            ("+ AdaRound", c => c with { AdaRound = adaRound ?? new AdaRoundOptions() }),
            ("+ bias correction", c => c with { BiasCorrection = true }),
        };
        QuantizationResult? best = null;
        double bestScore = double.NegativeInfinity;
        var current = config;
        foreach (var (name, add) in candidates)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var trial = add(current);
            var sw = Stopwatch.StartNew();
            var result = OnnxQuantizer.Quantize(model, calibrationData, trial, cancellationToken: cancellationToken);
            double score = evaluate(result.Model);
            var report = new PtqStepReport(name, score, fp32 - score, sw.Elapsed);
            steps.Add(report);
            progress?.Report(report);
            if (score > bestScore)
            {
                (best, bestScore, current) = (result, score, trial);
            }

            if (fp32 - bestScore <= allowedDrop)
            {
                break;
            }
        }

        return new PtqPipelineResult(best!, fp32, steps, fp32 - bestScore <= allowedDrop);
    }
}
