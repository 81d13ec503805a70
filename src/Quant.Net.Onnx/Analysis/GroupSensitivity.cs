namespace Quant.Net.Onnx;

/// <summary>How much of the score one quantizer group (the tensors one node quantizes) is responsible for.</summary>
/// <param name="Node">The node whose tensors form the group.</param>
/// <param name="OpType">Its operator.</param>
/// <param name="Tensors">The group's quantized tensors.</param>
/// <param name="EnabledAloneScore">Score with only this group quantized (everything else FP32).</param>
/// <param name="DisabledAloneScore">Score with every group but this one quantized.</param>
public sealed record GroupSensitivity(string Node, string OpType, IReadOnlyList<string> Tensors, double EnabledAloneScore, double DisabledAloneScore)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);
}
