namespace Quant.Net.Onnx;

/// <summary>
/// Progress of a long step: which stage, how many items are done, how many there are (if known) and, for steps whose
/// items are layers that take long each (AdaRound, GPTQ, SeqMSE), how far the current layer is and the time left for it
/// and for the step. Reports come a few times per second at most.
/// </summary>
/// <param name="Stage">What is running (for example "calibration", "evaluation", "AdaRound").</param>
/// <param name="Done">Items finished.</param>
/// <param name="Total">Items in all, if known.</param>
public sealed record QuantizationProgress(string Stage, int Done, int? Total)
{
    /// <summary>The layer being worked on when the report comes from inside it (item <see cref="Done"/>, 0-based), else null.</summary>
    public string? Layer { get; init; }

    /// <summary>How much of <see cref="Layer"/> is done, in [0, 1]: it only grows within a layer and reaches 1 when the layer is done; null when the step does not measure inside its items.</summary>
    public double? LayerFraction { get; init; }

    /// <summary>Time left for <see cref="Layer"/> at its pace so far (never negative); null before there is a pace.</summary>
    public TimeSpan? LayerRemaining { get; init; }

    /// <summary>Time left for the whole step, estimated from its pace so far and the sizes of the layers still to do (never negative); null when unknown.</summary>
    public TimeSpan? Remaining { get; init; }
}
