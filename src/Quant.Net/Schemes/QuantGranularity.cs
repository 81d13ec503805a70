namespace Quant.Net;

/// <summary>The granularity of a quantization scheme: per-tensor, per-channel along an axis, or per-block along an axis.</summary>
public readonly record struct QuantGranularity
{
    private QuantGranularity(QuantGranularityKind kind, int axis, int blockSize)
    {
        Kind = kind;
        Axis = axis;
        BlockSize = blockSize;
    }

    /// <summary>The kind of granularity.</summary>
    public QuantGranularityKind Kind { get; }

    /// <summary>The axis along which channels or blocks run (may be negative, counted from the last axis as in ONNX); 0 for per-tensor.</summary>
    public int Axis { get; }

    /// <summary>The number of consecutive elements along <see cref="Axis"/> that share an encoding; 0 unless per-block.</summary>
    public int BlockSize { get; }

    /// <summary>One encoding for the whole tensor.</summary>
    public static QuantGranularity PerTensor => default;

    /// <summary>One encoding per index along <paramref name="axis"/>.</summary>
    /// <param name="axis">The channel axis; negative values count from the last axis.</param>
    public static QuantGranularity PerChannel(int axis) => new(QuantGranularityKind.PerChannel, axis, 0);

    /// <summary>One encoding per block of <paramref name="blockSize"/> elements along <paramref name="axis"/>.</summary>
    /// <param name="axis">The blocked axis; negative values count from the last axis.</param>
    /// <param name="blockSize">Elements per block, at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="blockSize"/> is less than 1.</exception>
    public static QuantGranularity PerBlock(int axis, int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        return new(QuantGranularityKind.PerBlock, axis, blockSize);
    }

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        QuantGranularityKind.PerChannel => $"PerChannel(axis={Axis})",
        QuantGranularityKind.PerBlock => $"PerBlock(axis={Axis}, block={BlockSize})",
        _ => "PerTensor",
    };
}
