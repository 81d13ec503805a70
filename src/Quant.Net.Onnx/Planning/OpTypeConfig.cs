namespace Quant.Net.Onnx;

/// <summary>Per-operator-type settings; unset members fall back to the defaults in <see cref="QuantizationConfig"/>.</summary>
public sealed record OpTypeConfig
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);

    /// <summary>Quantize the op's float inputs (false keeps them in float).</summary>
    public bool? QuantizeInputs { get; init; }

    /// <summary>Quantize the op's output.</summary>
    public bool? QuantizeOutput { get; init; }

    /// <summary>Weight data type for this op type.</summary>
    public WeightType? Weights { get; init; }

    /// <summary>Per-channel weights for this op type.</summary>
    public bool? PerChannelWeights { get; init; }

    /// <summary>Block size for blocked weights along the reduction axis (int4); null for per-channel/per-tensor.</summary>
    public int? WeightBlockSize { get; init; }

    /// <summary>Activation data type for this op type's inputs and output.</summary>
    public ActivationType? Activations { get; init; }

    /// <summary>
    /// A fixed encoding range [min, max] for the op's output instead of calibration (AIMET's
    /// <c>encoding_constraints</c>; Softmax has [0, 1] by default).
    /// </summary>
    public IReadOnlyList<float>? OutputRange { get; init; }
}
