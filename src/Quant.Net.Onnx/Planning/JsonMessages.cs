using System.Text.RegularExpressions;

namespace Quant.Net.Onnx;

/// <summary>
/// System.Text.Json's error messages in a user's words: .NET type names ("could not be converted to System.Boolean",
/// "a 'System.String'", "mapped to any .NET member contained in type …") become JSON ones ("true or false", "a string",
/// "is not a known setting").
/// </summary>
internal static partial class JsonMessages
{
    public static string Describe(string message)
    {
        string text = UnknownMember().Replace(message, "is not a known setting");
        return TypeName().Replace(text, m => Word(m.Value));
    }

    private static string Word(string type) => type switch
    {
        _ when type.StartsWith("System.Nullable`1[", StringComparison.Ordinal) => Word(type["System.Nullable`1[".Length..^1]),
        _ when type.Contains("List`1[", StringComparison.Ordinal) || type.Contains("[]", StringComparison.Ordinal) => "a list",
        _ when type.Contains("Dictionary`2[", StringComparison.Ordinal) => "an object",
        "System.Boolean" => "true or false",
        "System.String" => "a string",
        "System.Double" or "System.Single" or "System.Decimal" => "a number",
        "System.Int32" or "System.Int64" or "System.Int16" or "System.Byte" or "System.SByte" or "System.UInt32" or "System.UInt64" => "a whole number",
        _ => "a value of the right kind",
    };

    [GeneratedRegex(@"could not be mapped to any \.NET member contained in type '[^']*'")]
    private static partial Regex UnknownMember();

    // A .NET type name, generic arguments included: System.Boolean, Quant.Net.Onnx.QuantizationConfig, System.Nullable`1[System.Double].
    [GeneratedRegex(@"\b(?:System|Quant\.Net)(?:\.[A-Za-z_]\w*)+(?:`\d+\[[^\]\s]*\]+)?")]
    private static partial Regex TypeName();
}
