namespace Quant.Net.Onnx;

/// <summary>
/// The encoding chosen for one quantized tensor. Weights, activations and constants carry a <see cref="QuantEncoding"/>;
/// biases carry int32 scales (input scale × weight scale per channel, zero point 0).
/// </summary>
/// <param name="Tensor">What was planned for the tensor (role, scheme, node).</param>
/// <param name="Encoding">Scales and zero points (null for biases).</param>
/// <param name="BiasScales">Per-channel (or single) int32 bias scales (null unless a bias).</param>
public sealed record TensorEncoding(PlannedTensor Tensor, QuantEncoding? Encoding, IReadOnlyList<float>? BiasScales = null)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);

    /// <summary>Bit width of the stored integers (32 for biases).</summary>
    public int BitWidth => Encoding?.Scheme.BitWidth ?? 32;
}
