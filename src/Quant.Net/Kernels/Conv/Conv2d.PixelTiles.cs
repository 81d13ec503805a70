using Quant.Net.Simd;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quant.Net.Kernels;

public sealed partial class Conv2d
{
    private PixelTileWeights? _pixelTileWeights; // the FP32 weights packed for the level of the last call (immutable; replaced whole)

    /// <summary>Per group, the weights as the packed B [K, Cout/groups] of the FP32 kernels, and the bias padded to whole panels.</summary>
    private sealed record PixelTileWeights(SimdLevel Level, PackedFloatWeights[] Weights, float[][] Bias);

    private PixelTileWeights PackForPixelTiles(SimdLevel level)
    {
        var packed = _pixelTileWeights;
        if (packed is not null && packed.Level == level) return packed;
        int k = Shape.GroupK, coutG = Shape.OutChannels / Shape.Groups, nr = Fp32Gemm.PanelWidth(level);
        var weights = new PackedFloatWeights[Shape.Groups];
        var bias = new float[Shape.Groups][];
        for (int g = 0; g < Shape.Groups; g++)
        {
            weights[g] = PackedFloatWeights.Pack(level, _float.AsSpan(g * coutG * k, coutG * k), k, coutG, WeightLayout.NByK);
            bias[g] = new float[(coutG + nr - 1) / nr * nr];
            _bias.AsSpan(g * coutG, coutG).CopyTo(bias[g]);
        }

        packed = new PixelTileWeights(level, weights, bias);
        _pixelTileWeights = packed;
        return packed;
    }

    /// <summary>
    /// Every FP32 layer but depthwise ones: a GEMM whose rows are the output pixels and whose columns are the output
    /// channels, so the weights are B, packed once per layer, and A is the patch matrix read where the staged image holds
    /// it. Each input channel is staged once with its padding (not at all without padding): row r of a tile is an output
    /// pixel (y, x), which reads tap (c, ky, kx) at (y·sh + ky·dh, x·sw + kx·dw) of channel c's padded plane, that is at
    /// the pixel's offset plus the tap's (<see cref="PixelRows"/>). A tile holds MR consecutive output pixels, across
    /// output rows, so no position is computed and dropped but the last tile's repeats (the phase planes' virtual
    /// positions cost 3.6% at 56², 12.5% at 14²); bias and clamp run in the kernel; the tile is written transposed into
    /// NCHW. The dot products
    /// are those of im2col in (c, ky, kx) order, one FMA per step, the same bits on every path.
    /// </summary>
    private unsafe void RunPixelTiles(ReadOnlySpan<float> input, int batch, int height, int width, Span<float> output, OutputClamp activation,
        int maxDegreeOfParallelism, KernelThreadPool? pool, SimdLevel level)
    {
        var (oh, ow, k, coutG) = Check(input.Length, batch, height, width, output.Length);
        int positions = oh * ow;
        if (batch == 0 || positions == 0) return;
        var weights = PackForPixelTiles(level);
        int cg = Shape.InChannels / Shape.Groups, mr = Fp32Gemm.RowTile(level), nr = Fp32Gemm.PanelWidth(level);
        bool padded = Shape.PadTop + Shape.PadLeft + Shape.PadBottom + Shape.PadRight > 0;
        int hp = height + Shape.PadTop + Shape.PadBottom, wp = width + Shape.PadLeft + Shape.PadRight;
        if ((long)cg * hp * wp > Array.MaxLength)
            throw new ArgumentException($"The padded planes of one group ({cg} × {hp} × {wp}) exceed the largest array.", nameof(input));
        int plane = hp * wp;
        int tiles = (positions + mr - 1) / mr, panels = (coutG + nr - 1) / nr, taps = Shape.KernelHeight * Shape.KernelWidth;
        float[]? staged = padded ? ArrayPool<float>.Shared.Rent(cg * plane) : null;
        nint[] tapOffsets = ArrayPool<nint>.Shared.Rent(k);
        nint[] pixelOffsets = ArrayPool<nint>.Shared.Rent(tiles * mr);
        try
        {
            for (int c = 0; c < cg; c++)
            {
                for (int t = 0; t < taps; t++)
                {
                    tapOffsets[(c * taps) + t] = ((nint)c * plane) + ((t / Shape.KernelWidth) * Shape.DilationHeight * wp) + ((t % Shape.KernelWidth) * Shape.DilationWidth);
                }
            }

            // The last tile's missing rows repeat the last pixel: they read valid cells and are not written.
            for (int p = 0; p < tiles * mr; p++)
            {
                int q = Math.Min(p, positions - 1);
                pixelOffsets[p] = ((nint)(q / ow) * Shape.StrideHeight * wp) + ((q % ow) * Shape.StrideWidth);
            }

            int imageLength = Shape.InChannels * height * width;
            fixed (float* source = input)
            fixed (float* stagedPlanes = staged)
            fixed (float* target = output)
            fixed (nint* tapTable = tapOffsets)
            fixed (nint* pixelTable = pixelOffsets)
            {
                for (int b = 0; b < batch; b++)
                {
                    for (int g = 0; g < Shape.Groups; g++)
                    {
                        float* channels = source + ((long)b * imageLength) + ((long)g * cg * height * width);
                        if (staged is not null)
                        {
                            StagePadded(new ReadOnlySpan<float>(channels, cg * height * width), height, width, staged.AsSpan(0, cg * plane));

                            channels = stagedPlanes;
                        }

                        fixed (float* panelData = weights.Weights[g].Data)
                        fixed (float* bias = weights.Bias[g])
                        {
                            var sweep = new PixelSweep(level, k, positions, coutG, channels, new PixelRows(pixelTable, tapTable), panelData, bias, activation,
                                target + (((long)b * Shape.OutChannels) + ((long)g * coutG)) * positions);
                            // Threads split the output channels' panels, or the pixel tiles when the panels are fewer (a
                            // 64-channel layer has 2 panels on AVX-512).
                            ColumnSweep.Run(sweep, tiles, panels, (long)k * nr * sizeof(float), (long)positions * coutG * k, maxDegreeOfParallelism, pool);
                        }
                    }
                }
            }
        }
        finally
        {
            if (staged is not null) ArrayPool<float>.Shared.Return(staged);
            ArrayPool<nint>.Shared.Return(tapOffsets);
            ArrayPool<nint>.Shared.Return(pixelOffsets);
        }
    }

    /// <summary>
    /// Channels [c, height, width] into padded planes [c, hp, wp]: every cell is written (zeros around the image), so the
    /// rented buffer needs no clearing.
    /// </summary>
    private void StagePadded(ReadOnlySpan<float> channels, int height, int width, Span<float> planes)
    {
        int wp = width + Shape.PadLeft + Shape.PadRight, top = Shape.PadTop * wp, bottom = Shape.PadBottom * wp, plane = top + (height * wp) + bottom;
        for (int c = 0; c < planes.Length / plane; c++)
        {
            var target = planes.Slice(c * plane, plane);
            target[..(top + Shape.PadLeft)].Clear();
            for (int y = 0; y < height; y++)
            {
                int row = top + (y * wp) + Shape.PadLeft;
                channels.Slice(((c * height) + y) * width, width).CopyTo(target.Slice(row, width));
                target.Slice(row + width, y + 1 < height ? Shape.PadRight + Shape.PadLeft : Shape.PadRight + bottom).Clear();
            }
        }
    }

    /// <summary>One tile of output pixels over a range of output-channel panels, written transposed into the group's NCHW output.</summary>
    private readonly unsafe struct PixelSweep(SimdLevel level, int k, int positions, int coutG, float* channels, PixelRows rows, float* panels, float* bias,
        OutputClamp activation, float* output) : IColumnTile
    {
        [SkipLocalsInit]
        public void Run(int rowTile, int panelStart, int panelEnd)
        {
            int mr = Fp32Gemm.RowTile(level), nr = Fp32Gemm.PanelWidth(level), pixel = rowTile * mr, count = Math.Min(mr, positions - pixel);
            var tileRows = new PixelRows(rows.Pixels + pixel, rows.Taps);
            float* tile = stackalloc float[8 * 32];
            for (int p = panelStart; p < panelEnd; p++)
            {
                int col0 = p * nr, cols = Math.Min(nr, coutG - col0);
                Fp32Gemm.Kernel(level, ref *channels, tileRows, ref *(panels + ((nint)p * k * nr)), k, nr, ref bias[col0], activation, ref *tile, nr);
                StoreTransposed(tile, count, cols, nr, mr, output + ((long)col0 * positions) + pixel, positions);
            }
        }
    }

    /// <summary>
    /// output[j·stride + r] = tile[r·nr + j] for r &lt; <paramref name="rows"/>, j &lt; <paramref name="cols"/>: a tile of
    /// pixels × channels into channel rows. A whole 8-row tile goes as 8×8 blocks transposed in AVX registers.
    /// </summary>
    private static unsafe void StoreTransposed(float* tile, int rows, int cols, int nr, int mr, float* output, nint stride)
    {
        if (Avx.IsSupported && mr == 8 && rows == 8)
        {
            int j = 0;
            for (; j + 8 <= cols; j += 8)
            {
                Transpose8x8(tile + j, nr, output + (j * stride), stride);
            }

            if (j == cols) return;
            tile += j;
            output += j * stride;
            cols -= j;
        }

        for (int j = 0; j < cols; j++)
        {
            for (int r = 0; r < rows; r++) output[(j * stride) + r] = tile[(r * nr) + j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Transpose8x8(float* source, int sourceStride, float* target, nint targetStride)
    {
        Vector256<float> r0 = Avx.LoadVector256(source), r1 = Avx.LoadVector256(source + sourceStride);
        Vector256<float> r2 = Avx.LoadVector256(source + (2 * sourceStride)), r3 = Avx.LoadVector256(source + (3 * sourceStride));
        Vector256<float> r4 = Avx.LoadVector256(source + (4 * sourceStride)), r5 = Avx.LoadVector256(source + (5 * sourceStride));
        Vector256<float> r6 = Avx.LoadVector256(source + (6 * sourceStride)), r7 = Avx.LoadVector256(source + (7 * sourceStride));
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(target, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(target + targetStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(target + (2 * targetStride), Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(target + (3 * targetStride), Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(target + (4 * targetStride), Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(target + (5 * targetStride), Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(target + (6 * targetStride), Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(target + (7 * targetStride), Avx.Permute2x128(u3, u7, 0x31));
    }
}
