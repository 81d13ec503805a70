namespace Quant.Net.Kernels;

/// <summary>How each block's scale (and zero point) is chosen.</summary>
public enum BlockRounding
{
    /// <summary>Scale from the block's full range, values rounded to nearest.</summary>
    Nearest,

    /// <summary>Try a grid of clipping ratios of the block's range and keep the one with the smallest squared error.</summary>
    MseSearch,
}
