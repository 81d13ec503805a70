namespace Quant.Net.Onnx;

/// <summary>What <see cref="WeightOnlyQuantizer.QuantizeFile"/> wrote.</summary>
/// <param name="QuantizedNodes">The MatMul nodes replaced, then the Gather nodes now reading a tied head's packed weights, then the Gather nodes whose embedding tables became int8 per row.</param>
/// <param name="Layers">MatMul layers quantized.</param>
/// <param name="FloatWeightBytes">Their FP32 weights' bytes.</param>
/// <param name="QuantizedWeightBytes">Their codes, scales and zero points' bytes.</param>
/// <param name="InputBytes">The input model and its data files.</param>
/// <param name="OutputBytes">The output model and its data file.</param>
public sealed record WeightOnlyFileResult(IReadOnlyList<string> QuantizedNodes, int Layers, long FloatWeightBytes, long QuantizedWeightBytes, long InputBytes, long OutputBytes)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);

    /// <summary>Gather nodes whose embedding table is the transpose of an LM head's weight: read from the head's MatMulNBits weights, stored once.</summary>
    public IReadOnlyList<string> TiedEmbeddings { get; init; } = [];
}
