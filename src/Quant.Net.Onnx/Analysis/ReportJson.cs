using System.Text.Json;
using System.Text.Json.Serialization;

namespace Quant.Net.Onnx;

/// <summary>JSON settings shared by the analysis and mixed-precision results: indented, enums by name, ±∞ allowed.</summary>
internal static class ReportJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
