using Google.Protobuf;
using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>A graph input or output: name, element type and shape (dimensions are null when symbolic).</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="ElementType">ONNX element type name (<c>FLOAT</c>, <c>INT64</c>, ...).</param>
/// <param name="Shape">Dimensions; null entries are symbolic or unknown (for example the batch).</param>
/// <param name="DimensionNames">Symbolic names of dimensions, null where a dimension is fixed or unnamed.</param>
public sealed record OnnxValueInfo(string Name, string ElementType, IReadOnlyList<long?> Shape, IReadOnlyList<string?> DimensionNames)
{
    internal static OnnxValueInfo From(ValueInfoProto v)
    {
        var tensor = v.Type?.TensorType;
        var dims = tensor?.Shape?.Dim;
        return new OnnxValueInfo(
            v.Name,
            tensor is null ? "UNDEFINED" : ((TensorProto.Types.DataType)tensor.ElemType).ToString().ToUpperInvariant(),
            dims is null ? [] : [.. dims.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0 ? d.DimValue : (long?)null)],
            dims is null ? [] : [.. dims.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? d.DimParam : null)]);
    }

    /// <summary>The shape as text, symbolic dimensions shown by name (or <c>?</c>).</summary>
    public override string ToString() =>
        $"{Name}: {ElementType}[{string.Join(", ", Shape.Select((d, i) => d?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? DimensionNames[i] ?? "?"))}]";
}
