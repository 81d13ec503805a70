using Quant.Net.Kernels;
using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>What weight-only quantization did.</summary>
/// <param name="Model">The quantized model.</param>
/// <param name="QuantizedNodes">The MatMul nodes replaced, then the Gather nodes now reading a tied head's packed weights, then the Gather nodes whose embedding tables became int8 per row.</param>
/// <param name="Weights">The block-quantized weights per node (as our kernels run them).</param>
public sealed record WeightOnlyResult(OnnxModel Model, IReadOnlyList<string> QuantizedNodes, IReadOnlyDictionary<string, BlockQuantizedWeights> Weights)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);

    /// <summary>Gather nodes whose embedding table is the transpose of an LM head's weight: read from the head's MatMulNBits weights, stored once.</summary>
    public IReadOnlyList<string> TiedEmbeddings { get; init; } = [];
}
