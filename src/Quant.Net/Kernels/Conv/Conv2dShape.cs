namespace Quant.Net.Kernels;

/// <summary>
/// The geometry of a 2-D convolution over NCHW tensors: channels, kernel, groups, stride, padding (top, left,
/// bottom, right) and dilation, as ONNX <c>Conv</c> defines them. Validated on construction.
/// </summary>
public sealed record Conv2dShape
{
    /// <summary>Creates and validates a convolution geometry.</summary>
    /// <param name="inChannels">Input channels, a multiple of <paramref name="groups"/>.</param>
    /// <param name="outChannels">Output channels, a multiple of <paramref name="groups"/>.</param>
    /// <param name="kernelHeight">Kernel height, ≥ 1.</param>
    /// <param name="kernelWidth">Kernel width, ≥ 1.</param>
    /// <param name="groups">Channel groups (1 for a dense convolution, the channel count for depthwise), ≥ 1.</param>
    /// <param name="strideHeight">Vertical stride, ≥ 1.</param>
    /// <param name="strideWidth">Horizontal stride, ≥ 1.</param>
    /// <param name="padTop">Rows of padding above, ≥ 0.</param>
    /// <param name="padLeft">Columns of padding on the left, ≥ 0.</param>
    /// <param name="padBottom">Rows of padding below, ≥ 0.</param>
    /// <param name="padRight">Columns of padding on the right, ≥ 0.</param>
    /// <param name="dilationHeight">Vertical dilation, ≥ 1.</param>
    /// <param name="dilationWidth">Horizontal dilation, ≥ 1.</param>
    public Conv2dShape(int inChannels, int outChannels, int kernelHeight, int kernelWidth, int groups = 1, int strideHeight = 1, int strideWidth = 1,
        int padTop = 0, int padLeft = 0, int padBottom = 0, int padRight = 0, int dilationHeight = 1, int dilationWidth = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(groups, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outChannels, 1);
        if (inChannels % groups != 0) throw new ArgumentException($"{inChannels} input channels do not split into {groups} groups.", nameof(inChannels));
        if (outChannels % groups != 0) throw new ArgumentException($"{outChannels} output channels do not split into {groups} groups.", nameof(outChannels));
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(strideHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(strideWidth, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padTop);
        ArgumentOutOfRangeException.ThrowIfNegative(padLeft);
        ArgumentOutOfRangeException.ThrowIfNegative(padBottom);
        ArgumentOutOfRangeException.ThrowIfNegative(padRight);
        ArgumentOutOfRangeException.ThrowIfLessThan(dilationHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dilationWidth, 1);
        (InChannels, OutChannels, KernelHeight, KernelWidth, Groups) = (inChannels, outChannels, kernelHeight, kernelWidth, groups);
        (StrideHeight, StrideWidth, PadTop, PadLeft, PadBottom, PadRight) = (strideHeight, strideWidth, padTop, padLeft, padBottom, padRight);
        (DilationHeight, DilationWidth) = (dilationHeight, dilationWidth);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel height.</summary>
    public int KernelHeight { get; }

    /// <summary>Kernel width.</summary>
    public int KernelWidth { get; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>Vertical stride.</summary>
    public int StrideHeight { get; }

    /// <summary>Horizontal stride.</summary>
    public int StrideWidth { get; }

    /// <summary>Rows of padding above.</summary>
    public int PadTop { get; }

    /// <summary>Columns of padding on the left.</summary>
    public int PadLeft { get; }

    /// <summary>Rows of padding below.</summary>
    public int PadBottom { get; }

    /// <summary>Columns of padding on the right.</summary>
    public int PadRight { get; }

    /// <summary>Vertical dilation.</summary>
    public int DilationHeight { get; }

    /// <summary>Horizontal dilation.</summary>
    public int DilationWidth { get; }

    /// <summary>The reduction length of one group: (InChannels / Groups) · KernelHeight · KernelWidth.</summary>
    public int GroupK => InChannels / Groups * KernelHeight * KernelWidth;

    /// <summary>Output height and width for an input of <paramref name="height"/> × <paramref name="width"/>.</summary>
    /// <param name="height">Input height, ≥ 1.</param>
    /// <param name="width">Input width, ≥ 1.</param>
    /// <exception cref="ArgumentException">The dilated kernel does not fit the padded input.</exception>
    public (int Height, int Width) OutputSize(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        int oh = (height + PadTop + PadBottom - DilationHeight * (KernelHeight - 1) - 1) / StrideHeight + 1;
        int ow = (width + PadLeft + PadRight - DilationWidth * (KernelWidth - 1) - 1) / StrideWidth + 1;
        if (height + PadTop + PadBottom < DilationHeight * (KernelHeight - 1) + 1 || width + PadLeft + PadRight < DilationWidth * (KernelWidth - 1) + 1)
            throw new ArgumentException($"A {KernelHeight}×{KernelWidth} kernel (dilation {DilationHeight}×{DilationWidth}) does not fit a padded {height}×{width} input.", nameof(height));
        return (oh, ow);
    }
}
