namespace Quant.Net.Onnx;

/// <summary>One tensor the quantizer will quantize.</summary>
/// <param name="Name">Tensor name in the prepared FP32 model.</param>
/// <param name="Role">Activation, weight, bias or constant.</param>
/// <param name="Scheme">Bit width, signedness, symmetry and granularity (biases: the weight's granularity, 32 bits implied).</param>
/// <param name="Node">The node that made the decision (consumer for inputs, producer for outputs).</param>
/// <param name="Observer">Observer for activations.</param>
/// <param name="SharesEncodingWith">For outputs of MaxPool/Reshape/...: the tensor whose encoding they reuse.</param>
/// <param name="BiasInput">For biases: the node's activation input.</param>
/// <param name="BiasWeight">For biases: the node's weight.</param>
public sealed record PlannedTensor(string Name, TensorRole Role, QuantScheme Scheme, string Node, ObserverKind Observer = ObserverKind.MinMax,
    string? SharesEncodingWith = null, string? BiasInput = null, string? BiasWeight = null)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);

    /// <summary>A range fixed by what the op computes (Softmax: [0, 1]), used instead of calibration; null: observed.</summary>
    public (float Min, float Max)? FixedRange { get; init; }

    /// <summary>
    /// Nodes that read this activation unquantized (it comes from a float op and only its other readers are integer ops:
    /// a LayerNorm's output is quantized for the MatMul after it, and read in float by the residual Add); empty: every
    /// reader takes the quantized value.
    /// </summary>
    public IReadOnlyList<string> FloatReaders { get; init; } = [];
}
