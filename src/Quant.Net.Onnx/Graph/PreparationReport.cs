namespace Quant.Net.Onnx;

/// <summary>What preparation changed in a model.</summary>
/// <param name="OpsetFrom">The model's default-domain opset before.</param>
/// <param name="OpsetTo">The opset after (raised when the quantized operators need it).</param>
/// <param name="FoldedBatchNorms">Names of the BatchNormalization nodes folded into the Conv/Gemm before them.</param>
/// <param name="NamedNodes">How many unnamed nodes were given names (<c>OpType_index</c>).</param>
/// <param name="EqualizedPairs">Layer pairs equalized by cross-layer equalization (0 when it was not asked for).</param>
public sealed record PreparationReport(int OpsetFrom, int OpsetTo, IReadOnlyList<string> FoldedBatchNorms, int NamedNodes, int EqualizedPairs = 0)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);

    /// <summary>What the opset conversion rewrote (one line per node that became other nodes); empty when the opset was kept.</summary>
    public IReadOnlyList<string> OpsetNotes { get; init; } = [];

    /// <summary>Constant nodes turned into initializers (weights exported as Constant nodes become quantizable weights).</summary>
    public int ConstantNodes { get; init; }

    /// <summary>Identity/Cast/Transpose/Reshape/Squeeze/Unsqueeze/Flatten nodes on initializers computed into initializers.</summary>
    public int FoldedNodes { get; init; }

    /// <summary>Names of the Mul/Div/Add/Sub nodes (a per-channel scale or shift by a constant) folded into the Conv/Gemm before them.</summary>
    public IReadOnlyList<string> FoldedScaleShifts { get; init; } = [];

    /// <summary>
    /// Float16 tensors, constants and casts made float32 (0 for a float32 model): a float16 model is quantized as the
    /// float32 model computing the same function, with its float16 inputs and outputs kept through casts.
    /// </summary>
    public int Float16Changes { get; init; }

    /// <summary>Reshapes whose target shape was assembled from their input's own dimensions at run time, given a constant shape (0 = copy).</summary>
    public int FoldedReshapes { get; init; }

    /// <summary>Activations whose outlier channels were migrated into the weights after them (<see cref="QuantizationConfig.OutlierSmoothing"/>).</summary>
    public IReadOnlyList<string> SmoothedTensors { get; init; } = [];
}
