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

    /// <summary>
    /// Packs the patches of one group straight into GEMM B panels of <paramref name="nr"/> output positions: for reduction
    /// index k = (c·KH + ky)·KW + kx and position q = y·OW + x, the value <c>input[group·Cg + c, y·sh − pt + ky·dh,
    /// x·sw − pl + kx·dw]</c> (or <paramref name="padding"/>) goes to <c>panels[(q / nr)·K·nr + k·nr + q % nr]</c>.
    /// Stride-1 rows inside the image are contiguous copies. Optionally sums each position's column (for zero points).
    /// </summary>
    internal void PackPatches<T>(ReadOnlySpan<T> image, int height, int width, int group, T padding, int nr, Span<T> panels, Span<int> columnSums)
        where T : unmanaged
    {
        var (oh, ow) = OutputSize(height, width);
        PackPatches(image, height, width, group, padding, nr, panels, columnSums, 0, (oh * ow + nr - 1) / nr);
    }

    /// <summary>
    /// <see cref="PackPatches{T}(ReadOnlySpan{T}, int, int, int, T, int, Span{T}, Span{int})"/> for the panels
    /// [<paramref name="panelStart"/>, <paramref name="panelEnd"/>) only, so that a GEMM can pack each block of panels just
    /// before it reads them (while they are in cache).
    /// </summary>
    internal void PackPatches<T>(ReadOnlySpan<T> image, int height, int width, int group, T padding, int nr, Span<T> panels, Span<int> columnSums,
        int panelStart, int panelEnd)
        where T : unmanaged
    {
        var (oh, ow) = OutputSize(height, width);
        int cg = InChannels / Groups, k = GroupK, positions = oh * ow;
        int first = panelStart * nr, end = Math.Min(panelEnd * nr, positions);
        int paddedPositions = Math.Min(panelEnd * nr, (positions + nr - 1) / nr * nr);
        if (first >= end) return;
        for (int c = 0; c < cg; c++)
        {
            var plane = image.Slice((group * cg + c) * height * width, height * width);
            for (int ky = 0; ky < KernelHeight; ky++)
            {
                for (int kx = 0; kx < KernelWidth; kx++)
                {
                    int kIndex = (c * KernelHeight + ky) * KernelWidth + kx;
                    // x range whose input column lies inside the image: 0 ≤ x·sw − pl + kx·dw < width.
                    int offset = kx * DilationWidth - PadLeft;
                    int xInside = offset >= 0 ? 0 : (-offset + StrideWidth - 1) / StrideWidth;
                    int xInsideEnd = Math.Min(ow, width - 1 - offset < 0 ? 0 : (width - 1 - offset) / StrideWidth + 1);
                    for (int y = first / ow; y <= (end - 1) / ow; y++)
                    {
                        int iy = y * StrideHeight - PadTop + ky * DilationHeight;
                        int q0 = y * ow, xLow = Math.Max(0, first - q0), xHigh = Math.Min(ow, end - q0);   // this row's part of the range
                        int xFirst = Math.Clamp(xInside, xLow, xHigh), xEnd = Math.Clamp(xInsideEnd, xFirst, xHigh);
                        if ((uint)iy >= (uint)height || xFirst >= xEnd)
                        {
                            Fill(panels, nr, k, kIndex, q0 + xLow, q0 + xHigh, padding);
                            continue;
                        }
                        Fill(panels, nr, k, kIndex, q0 + xLow, q0 + xFirst, padding);
                        var row = plane.Slice(iy * width, width);
                        CopyRow(row.Slice(xFirst * StrideWidth + offset), panels, nr, k, kIndex, q0 + xFirst, xEnd - xFirst, StrideWidth);
                        Fill(panels, nr, k, kIndex, q0 + xEnd, q0 + xHigh, padding);
                    }
                    Fill(panels, nr, k, kIndex, Math.Max(positions, first), paddedPositions, default); // panel tail past the last position
                }
            }
        }
        if (!columnSums.IsEmpty)
        {
            for (int q = first; q < end; q++)
            {
                int sum = 0;
                var panel = panels.Slice((int)PackedFloatWeights.PanelIndex(k, nr, 0, q));
                for (int t = 0; t < k; t++) sum += ScalarReference.Widen(panel[t * nr]);
                columnSums[q] = sum;
            }
        }
    }

    /// <summary>
    /// Copies <paramref name="count"/> input values, <paramref name="stride"/> apart, to the panel lanes of K row
    /// <paramref name="kIndex"/> for positions q, q + 1, …: one division for the first lane, then whole-panel runs (a
    /// panel's lanes for one K row are contiguous; the next panel's are K·NR further), copied with vectors when contiguous.
    /// </summary>
    private static void CopyRow<T>(ReadOnlySpan<T> source, Span<T> panels, int nr, int k, int kIndex, int q, int count, int stride) where T : unmanaged
    {
        if (count <= 0) return;
        int lane = q % nr;
        long target = PackedFloatWeights.PanelIndex(k, nr, kIndex, q), panelStride = (long)k * nr;
        if ((count - 1L) * stride >= source.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count)); // never: the caller's range lies inside the image row (panels are sliced with checks)
        }

        ref T from = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(source);
        for (int done = 0; done < count;)
        {
            int run = Math.Min(count - done, nr - lane);
            var destination = panels.Slice((int)target, run);
            if (stride == 1)
            {
                System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(ref System.Runtime.CompilerServices.Unsafe.Add(ref from, done), run).CopyTo(destination);
            }
            else
            {
                ref T to = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(destination);
                for (int i = 0; i < run; i++)
                {
                    System.Runtime.CompilerServices.Unsafe.Add(ref to, i) = System.Runtime.CompilerServices.Unsafe.Add(ref from, (done + i) * stride);
                }
            }

            done += run;
            target += panelStride - lane;
            lane = 0;
        }
    }

    private static void Fill<T>(Span<T> panels, int nr, int k, int kIndex, int from, int to, T value) where T : unmanaged
    {
        for (int q = from; q < to;)
        {
            int lane = q % nr, run = Math.Min(to - q, nr - lane);
            panels.Slice((int)PackedFloatWeights.PanelIndex(k, nr, kIndex, q), run).Fill(value);
            q += run;
        }
    }
}
