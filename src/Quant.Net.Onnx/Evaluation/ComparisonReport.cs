namespace Quant.Net.Onnx;

/// <summary>FP32 against quantized: accuracy of outputs, where error enters, size and latency.</summary>
/// <param name="Samples">Samples compared.</param>
/// <param name="Outputs">Per-output comparison (fused quantized model, as deployed).</param>
/// <param name="Layers">Per-quantized-activation comparison, in graph order.</param>
/// <param name="Fp32ModelBytes">Serialized size of the FP32 model.</param>
/// <param name="QuantizedModelBytes">Serialized size of the quantized model.</param>
/// <param name="Fp32Latency">Median batch-1 latency of the FP32 model in ONNX Runtime.</param>
/// <param name="QuantizedLatency">Median batch-1 latency of the quantized model.</param>
/// <param name="Threads">ONNX Runtime intra-op threads used for latency.</param>
public sealed record ComparisonReport(int Samples, IReadOnlyList<OutputComparison> Outputs, IReadOnlyList<LayerComparison> Layers,
    long Fp32ModelBytes, long QuantizedModelBytes, TimeSpan Fp32Latency, TimeSpan QuantizedLatency, int Threads)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);

    /// <summary>The int8 arithmetic of this host's ONNX Runtime, which <see cref="Outputs"/> measured (<see cref="Int8Host.Description"/>).</summary>
    public string HostArithmetic { get; init; } = Int8Host.Description;

    /// <summary>The deployment target the model was quantized for.</summary>
    public DeploymentTarget Target { get; init; }

    /// <summary>
    /// Int8 weight tensors of the quantized model whose code pairs can overflow int16 with uint8 activations: they run
    /// exactly only on targets that accumulate exactly (x86 VNNI, ARM64).
    /// </summary>
    public IReadOnlyList<string> SaturableWeights { get; init; } = [];

    /// <summary>
    /// The outputs with exact int32 accumulation (what VNNI and ARM64 targets compute), measured when this host's
    /// arithmetic can differ for this model (its u8s8 kernels saturate and <see cref="SaturableWeights"/> is not empty);
    /// null when <see cref="Outputs"/> already are exact.
    /// </summary>
    public IReadOnlyList<OutputComparison>? ExactOutputs { get; init; }

    /// <summary>What the reader must know about the arithmetic measured (target vs host mismatches, differences beyond noise).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
