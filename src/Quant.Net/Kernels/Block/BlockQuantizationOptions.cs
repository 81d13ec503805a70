namespace Quant.Net.Kernels;

/// <summary>Options for <see cref="BlockQuantizedWeights.Quantize"/>.</summary>
public sealed record BlockQuantizationOptions
{
    /// <summary>Bits per weight: 4 or 8.</summary>
    public int Bits { get; init; } = 4;

    /// <summary>Weights per block along K: 16, 32, 64, 128 or 256.</summary>
    public int BlockSize { get; init; } = 32;

    /// <summary>Symmetric blocks (zero point at the middle code, 8 or 128) instead of a zero point per block.</summary>
    public bool Symmetric { get; init; } = true;

    /// <summary>Scale storage.</summary>
    public BlockScaleType ScaleType { get; init; } = BlockScaleType.Fp32;

    /// <summary>Nearest or MSE-searched block ranges.</summary>
    public BlockRounding Rounding { get; init; } = BlockRounding.Nearest;

    /// <summary>Clipping ratios tried by <see cref="BlockRounding.MseSearch"/>: 1, 1 − s, 1 − 2s, ... down to <see cref="MinimumClipRatio"/>.</summary>
    public int SearchSteps { get; init; } = 40;

    /// <summary>Smallest clipping ratio tried by the MSE search.</summary>
    public float MinimumClipRatio { get; init; } = 0.5f;

    internal void Validate()
    {
        if (Bits is not (4 or 8))
        {
            throw new ArgumentOutOfRangeException(nameof(Bits), Bits, "Block quantization supports 4 and 8 bits.");
        }

        if (BlockSize is not (16 or 32 or 64 or 128 or 256))
        {
            throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize, "Block size must be 16, 32, 64, 128 or 256.");
        }

        if (SearchSteps < 1 || !(MinimumClipRatio > 0 && MinimumClipRatio <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(SearchSteps), "The MSE search needs at least one step and a minimum clip ratio in (0, 1].");
        }
    }
}
