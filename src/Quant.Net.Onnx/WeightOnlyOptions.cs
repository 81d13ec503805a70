using Quant.Net.Kernels;
using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>Options for <see cref="WeightOnlyQuantizer.Quantize"/>.</summary>
public sealed record WeightOnlyOptions
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);

    /// <summary>Bits, block size, symmetry, scale type, rounding of the weight blocks.</summary>
    public BlockQuantizationOptions Blocks { get; init; } = new();

    /// <summary>Output format.</summary>
    public WeightOnlyFormat Format { get; init; } = WeightOnlyFormat.MatMulNBits;

    /// <summary>MatMulNBits' <c>accuracy_level</c>: 0 (unset: float activations) to 4 (int8 activations per block).</summary>
    public int AccuracyLevel { get; init; }

    /// <summary>
    /// How weights are rounded: block by block (<see cref="WeightOnlyMethod.Blockwise"/>, no data needed), or through
    /// each layer's Hessian of its calibration inputs (<see cref="WeightOnlyMethod.Gptq"/>,
    /// <see cref="WeightOnlyMethod.SeqMse"/>; these need calibration data).
    /// </summary>
    public WeightOnlyMethod Method { get; init; } = WeightOnlyMethod.Blockwise;

    /// <summary>GPTQ's damping: added to the Hessian's diagonal as a fraction of its mean (0.01, as GPTQ).</summary>
    public double GptqDamping { get; init; } = 0.01;

    /// <summary>
    /// Also store embedding tables (Gather from a constant [V, H] table) as int8 with one scale per row behind
    /// DequantizeLinear (models at opset 13 or later): a language model's largest tensors after its linear layers.
    /// </summary>
    public bool QuantizeEmbeddings { get; init; } = true;

    /// <summary>
    /// An embedding table that is exactly the transpose of an LM head's weight (tied weights an exporter stored twice)
    /// is read from the head's packed MatMulNBits weights instead of being stored again (MatMulNBits format, symmetric
    /// blocks, with <see cref="QuantizeEmbeddings"/>): the table then costs nothing, at the head's precision. Off: the
    /// table is stored int8 per row like any other.
    /// </summary>
    public bool ShareTiedEmbeddings { get; init; } = true;

    /// <summary>MatMul (or Gather) nodes left in FP32 (by name).</summary>
    public IReadOnlyList<string> ExcludedNodes { get; init; } = [];
}
