namespace Quant.Net.Onnx;

/// <summary>A graph node as seen from outside.</summary>
/// <param name="Name">Node name (the preparation step names unnamed nodes <c>OpType_index</c>).</param>
/// <param name="OpType">Operator type.</param>
/// <param name="Domain">Operator domain ("" for <c>ai.onnx</c>).</param>
/// <param name="Inputs">Input tensor names ("" for an omitted optional input).</param>
/// <param name="Outputs">Output tensor names.</param>
public sealed record OnnxNode(string Name, string OpType, string Domain, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);
}
