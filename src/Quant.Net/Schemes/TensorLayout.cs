namespace Quant.Net;

/// <summary>
/// A tensor seen as [outer, D, inner] around the quantization axis, and the runs of contiguous elements that share
/// a scale (broadcast) or walk the scale array element by element (varying).
/// </summary>
internal readonly struct TensorLayout
{
    private TensorLayout(QuantGranularity granularity, int outer, int axisLength, int inner, int parameterCount)
    {
        Granularity = granularity;
        Outer = outer;
        AxisLength = axisLength;
        Inner = inner;
        ParameterCount = parameterCount;
    }

    public QuantGranularity Granularity { get; }
    public int Outer { get; }
    public int AxisLength { get; }
    public int Inner { get; }

    /// <summary>How many scales and zero points the granularity needs for this shape.</summary>
    public int ParameterCount { get; }

    public int Blocks => Granularity.Kind == QuantGranularityKind.PerBlock ? (AxisLength + Granularity.BlockSize - 1) / Granularity.BlockSize : AxisLength;

    /// <summary>Validates <paramref name="shape"/> against the element count and granularity.</summary>
    public static TensorLayout Create(ReadOnlySpan<int> shape, int length, QuantGranularity granularity, string shapeParamName)
    {
        long product = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0) throw new ArgumentException($"Dimension {i} of the shape is negative ({shape[i]}).", shapeParamName);
            product *= shape[i];
            if (product > int.MaxValue) throw new ArgumentException("The shape has more than int.MaxValue elements.", shapeParamName);
        }
        if (product != length)
            throw new ArgumentException($"The shape [{string.Join(", ", shape.ToArray())}] has {product} elements but the data has {length}.", shapeParamName);
        if (granularity.Kind == QuantGranularityKind.PerTensor)
            return new TensorLayout(granularity, 1, length, 1, 1);

        int rank = shape.Length, axis = granularity.Axis < 0 ? granularity.Axis + rank : granularity.Axis;
        if (axis < 0 || axis >= rank)
            throw new ArgumentException($"Axis {granularity.Axis} is outside a tensor of rank {rank}.", shapeParamName);
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        for (int i = axis + 1; i < rank; i++) inner *= shape[i];
        int d = shape[axis];
        int count = granularity.Kind == QuantGranularityKind.PerChannel
            ? d
            : checked(outer * ((d + granularity.BlockSize - 1) / granularity.BlockSize) * inner);
        return new TensorLayout(granularity, outer, d, inner, count);
    }

    /// <summary>Calls <paramref name="action"/> once per run: (element offset, length, first parameter index, varying).</summary>
    public void ForEachRun<TAction>(ref TAction action) where TAction : IRunAction, allows ref struct
    {
        int d = AxisLength, inner = Inner;
        switch (Granularity.Kind)
        {
            case QuantGranularityKind.PerTensor:
                action.Run(0, d, 0, false);
                break;
            case QuantGranularityKind.PerChannel when inner == 1:
                for (int o = 0; o < Outer; o++) action.Run(o * d, d, 0, true);
                break;
            case QuantGranularityKind.PerChannel:
                for (int o = 0; o < Outer; o++)
                    for (int c = 0; c < d; c++) action.Run((o * d + c) * inner, inner, c, false);
                break;
            case QuantGranularityKind.PerBlock when inner == 1:
                {
                    int b = Granularity.BlockSize, nb = Blocks;
                    for (int o = 0; o < Outer; o++)
                        for (int k = 0; k < nb; k++) action.Run(o * d + k * b, Math.Min(b, d - k * b), o * nb + k, false);
                    break;
                }
            default:
                {
                    int b = Granularity.BlockSize, nb = Blocks;
                    for (int o = 0; o < Outer; o++)
                        for (int c = 0; c < d; c++) action.Run((o * d + c) * inner, inner, (o * nb + c / b) * inner, true);
                    break;
                }
        }
    }
}

/// <summary>Work done on one run of <see cref="TensorLayout.ForEachRun{TAction}"/>.</summary>
internal interface IRunAction
{
    void Run(int offset, int length, int parameterIndex, bool varying);
}
