using Quant.Net.Simd;
using System.Buffers;
using System.Runtime.CompilerServices;

namespace Quant.Net.Kernels;

/// <summary>
/// 2-D convolution (NCHW) as im2col + GEMM, FP32 and int8. Weights [OutChannels, InChannels / Groups, KH, KW] are
/// packed once per group as the GEMM's B; each image's patches form A, so a group computes
/// <c>columns[OH·OW, K] · Wᵀ[K, Cout/groups]</c>, which is then written back in NCHW order.
/// </summary>
public sealed class Conv2d
{
    private readonly float[]? _float; // [OutChannels, GroupK], the GEMM's A operand
    private readonly Int8ConvWeights? _int8;
    private readonly float[] _bias;

    private Conv2d(Conv2dShape shape, float[]? f, Int8ConvWeights? q, float[] bias)
    {
        Shape = shape;
        _float = f;
        _int8 = q;
        _bias = bias;
    }

    /// <summary>The geometry.</summary>
    public Conv2dShape Shape { get; }

    /// <summary>Whether the weights are int8 (input must then be quantized).</summary>
    public bool IsQuantized => _int8 is not null;

    /// <summary>An FP32 convolution.</summary>
    /// <param name="shape">The geometry.</param>
    /// <param name="weights">[OutChannels, InChannels / Groups, KH, KW], row-major.</param>
    /// <param name="bias">Empty or one per output channel.</param>
    public static Conv2d CreateFloat(Conv2dShape shape, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias)
    {
        ArgumentNullException.ThrowIfNull(shape);
        CheckWeights(shape, weights.Length, bias.Length);
        return new Conv2d(shape, weights.ToArray(), null, bias.IsEmpty ? new float[shape.OutChannels] : bias.ToArray());
    }

    /// <summary>An int8 convolution with per-output-channel (or one) weight scales and one weight zero point.</summary>
    /// <param name="shape">The geometry.</param>
    /// <param name="weights">int8 [OutChannels, InChannels / Groups, KH, KW], row-major.</param>
    /// <param name="scales">One per output channel, or one for all; finite and &gt; 0.</param>
    /// <param name="zeroPoints">Empty (0), one, or one per output channel that are all equal (symmetric weights have 0), in [-128, 127].</param>
    /// <param name="bias">Empty or one float per output channel (added after dequantization).</param>
    public static Conv2d CreateQuantized(Conv2dShape shape, ReadOnlySpan<sbyte> weights, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints, ReadOnlySpan<float> bias)
    {
        ArgumentNullException.ThrowIfNull(shape);
        CheckWeights(shape, weights.Length, bias.Length);
        int cout = shape.OutChannels;
        float[] perChannel = PackedInt8Weights.PerChannelScales(scales, cout, nameof(scales));
        if (zeroPoints.Length > 1 && zeroPoints.Length != cout) throw new ArgumentException($"Expected 0, 1 or {cout} zero points, got {zeroPoints.Length}.", nameof(zeroPoints));
        int zeroPoint = zeroPoints.IsEmpty ? 0 : zeroPoints[0];
        foreach (int z in zeroPoints)
        {
            if (z != zeroPoint) throw new ArgumentException("The weights of a convolution must share one zero point (per-channel scales are fine).", nameof(zeroPoints));
        }
        if (zeroPoint is < -128 or > 127) throw new ArgumentOutOfRangeException(nameof(zeroPoints), zeroPoint, "The weight zero point must lie in [-128, 127].");

        // Reorder each output channel's weights from (c, ky, kx) to (ky, kx, c): KR channels of one pixel then form one
        // group of the int8 kernels' layout when the image is staged channels-last. A group's channels are padded to a
        // multiple of KR when that costs at most 5/3 of the work (3 channels → 4: the RGB stem), with weights equal to the
        // zero point, which contribute exactly 0 whatever the padded input holds; that lets the image take the blocked path.
        int cg = shape.InChannels / shape.Groups, kh = shape.KernelHeight, kw = shape.KernelWidth, k = shape.GroupK;
        int cgp = PaddedChannels(cg, Int8GemmTile.Of(IsaConfig.Best.Int8Gemm).KR), kq = kh * kw * cgp;
        var reordered = new sbyte[(long)cout * kq];
        Array.Fill(reordered, (sbyte)zeroPoint);
        for (int co = 0; co < cout; co++)
            for (int c = 0; c < cg; c++)
                for (int ky = 0; ky < kh; ky++)
                    for (int kx = 0; kx < kw; kx++)
                        reordered[co * kq + (ky * kw + kx) * cgp + c] = weights[co * k + (c * kh + ky) * kw + kx];
        // Σ_k (w − zw) per output channel: the input zero point's term, subtracted per row after the GEMM (see Run).
        var centredSums = new int[cout];
        for (int co = 0; co < cout; co++)
        {
            int sum = 0;
            foreach (sbyte v in reordered.AsSpan(co * kq, kq)) sum += v;
            centredSums[co] = sum - (kq * zeroPoint);
        }

        return new Conv2d(shape, null, new Int8ConvWeights(reordered, perChannel, zeroPoint, centredSums, cgp), bias.IsEmpty ? new float[cout] : bias.ToArray());
    }

    /// <summary>Channels per group as the int8 layout holds them: rounded up to KR from 3 channels on, as they are.</summary>
    private static int PaddedChannels(int cg, int kr) => cg % kr == 0 || cg < 3 ? cg : (cg + kr - 1) / kr * kr;

    /// <summary>
    /// Int8 weights reordered to (ky, kx, c) per output channel with <paramref name="Channels"/> channels per group (padded
    /// ones hold the zero point), their scales, their shared zero point and Σ (w − zw) per channel.
    /// </summary>
    private sealed record Int8ConvWeights(sbyte[] Weights, float[] Scales, int ZeroPoint, int[] CentredSums, int Channels);

    /// <summary>
    /// FP32 forward pass over a batch. Per image and group: the patches are packed straight into GEMM B panels
    /// (contiguous copies for stride 1), the weights [Cout/groups, K] are A, and the product lands in NCHW order.
    /// </summary>
    /// <param name="input">[batch, InChannels, height, width].</param>
    /// <param name="batch">Images, ≥ 0.</param>
    /// <param name="height">Input height.</param>
    /// <param name="width">Input width.</param>
    /// <param name="output">[batch, OutChannels, OH, OW] (see <see cref="Conv2dShape.OutputSize"/>).</param>
    /// <param name="activation">The clamp fused into the output.</param>
    /// <param name="maxDegreeOfParallelism">Threads for each GEMM (1, −1 for all cores, or a limit).</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    public void Run(ReadOnlySpan<float> input, int batch, int height, int width, Span<float> output, OutputClamp activation, int maxDegreeOfParallelism, KernelThreadPool? pool = null)
    {
        if (_float is null) throw new InvalidOperationException("This convolution has int8 weights; pass quantized input.");
        Parallelism.Validate(maxDegreeOfParallelism);
        var (oh, ow, k, coutG) = Check(input.Length, batch, height, width, output.Length);
        var level = IsaConfig.Best.Elementwise;
        int nr = Fp32Gemm.PanelWidth(level), positions = oh * ow;
        if (k > Shape.InChannels / Shape.Groups)
        {
            RunPhasePlanes(input, batch, height, width, output, activation, maxDegreeOfParallelism, pool, level, nr);
            return;
        }

        int panels = (positions + nr - 1) / nr;
        float[] packed = ArrayPool<float>.Shared.Rent(panels * k * nr);
        try
        {
            int imageLength = Shape.InChannels * height * width;
            for (int b = 0; b < batch; b++)
            {
                var image = input.Slice(b * imageLength, imageLength);
                for (int g = 0; g < Shape.Groups; g++)
                {
                    // Each block of panels is packed by the thread that sweeps it, just before, so the patches are read from
                    // cache rather than written to memory in full first (7 MB at 64×56², 3×3).
                    var patches = PackedFloatWeights.Wrap(level, k, positions, packed);
                    var result = output.Slice((b * Shape.OutChannels + g * coutG) * positions, coutG * positions);
                    unsafe
                    {
                        fixed (float* source = image)
                        fixed (float* target = packed)
                        {
                            var producer = new PatchProducer(Shape, source, imageLength, height, width, g, nr, target, panels * k * nr);
                            Fp32Gemm.Run(_float.AsSpan(g * coutG * k, coutG * k), coutG, patches, [], result, OutputClamp.None, maxDegreeOfParallelism, pool, producer);
                        }
                    }
                    for (int r = 0; r < coutG; r++) AddBiasAndClamp(result.Slice(r * positions, positions), result.Slice(r * positions, positions), _bias[g * coutG + r], activation);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packed);
        }
    }

    /// <summary>
    /// Sizes of the phase-plane paths for one input size: plane width Wq, OH·Wq virtual positions, their NR-wide panels,
    /// and the cells of a plane (its share of the padded image, and the reach of the last panel's lanes past it).
    /// </summary>
    private readonly record struct PhaseGeometry(int Wq, int VirtualPositions, int Panels, int Cells)
    {
        public static PhaseGeometry Of(Conv2dShape shape, int height, int width, int nr)
        {
            int sh = shape.StrideHeight, sw = shape.StrideWidth;
            int wq = (width + shape.PadLeft + shape.PadRight + sw - 1) / sw, hq = (height + shape.PadTop + shape.PadBottom + sh - 1) / sh;
            int virtualPositions = shape.OutputSize(height, width).Height * wq, panels = (virtualPositions + nr - 1) / nr;
            int reach = ((shape.KernelHeight - 1) * shape.DilationHeight / sh * wq) + ((shape.KernelWidth - 1) * shape.DilationWidth / sw);
            return new(wq, virtualPositions, panels, Math.Max(hq * wq, (panels * nr) + reach));
        }

        /// <summary>Tap (ky, kx): its phase plane and its shift inside the plane.</summary>
        public (int Phase, int Offset) Tap(Conv2dShape shape, int ky, int kx)
        {
            int dy = ky * shape.DilationHeight, dx = kx * shape.DilationWidth;
            return (((dy % shape.StrideHeight) * shape.StrideWidth) + (dx % shape.StrideWidth), (dy / shape.StrideHeight * Wq) + (dx / shape.StrideWidth));
        }

        /// <summary>
        /// Where input row iy's columns of column phase pw go: the first such column (ix = first, first + sw, …; ≥ width
        /// when there is none), its phase plane and its cell.
        /// </summary>
        public (int First, int Phase, int Cell) Row(Conv2dShape shape, int iy, int pw)
        {
            int sh = shape.StrideHeight, sw = shape.StrideWidth, r = iy + shape.PadTop;
            int first = ((pw - shape.PadLeft) % sw + sw) % sw;
            return (first, ((r % sh) * sw) + pw, (r / sh * Wq) + ((first + shape.PadLeft) / sw));
        }
    }

    /// <summary>
    /// Kernels larger than 1×1: each channel is staged once with its padding, split by stride into sh·sw phase planes
    /// (padded pixel (r, col) goes to plane (r mod sh, col mod sw) at (r / sh, col / sw); one plane for stride 1), each
    /// Wq = ⌈Wp / sw⌉ wide, and the GEMM runs over OH·Wq virtual positions (q = y·Wq + x; the last Wq − OW columns of each
    /// row are computed and dropped). Then K row (c, ky, kx) of the patch matrix is the phase plane of (ky·dh mod sh,
    /// kx·dw mod sw) shifted by ⌊ky·dh / sh⌋·Wq + ⌊kx·dw / sw⌋: every panel row is one contiguous copy of NR values, with
    /// no padding tests, instead of a copy per output-row segment. The same dot products in the same order as the general
    /// path; it costs Wq / OW more GEMM columns (3.6% at 56² stride 1, 2.7% for ResNet's 224² 7×7 stride-2 stem).
    /// </summary>
    private void RunPhasePlanes(ReadOnlySpan<float> input, int batch, int height, int width, Span<float> output, OutputClamp activation,
        int maxDegreeOfParallelism, KernelThreadPool? pool, SimdLevel level, int nr)
    {
        var (oh, ow, k, coutG) = Check(input.Length, batch, height, width, output.Length);
        var geometry = PhaseGeometry.Of(Shape, height, width, nr);
        int cg = Shape.InChannels / Shape.Groups, phases = Shape.StrideHeight * Shape.StrideWidth, positions = oh * ow;
        int wq = geometry.Wq, virtualPositions = geometry.VirtualPositions, panels = geometry.Panels, planeStride = geometry.Cells, planes = cg * phases;
        float[] packed = ArrayPool<float>.Shared.Rent(panels * k * nr);
        float[] staged = ArrayPool<float>.Shared.Rent(planes * planeStride);
        float[] product = ArrayPool<float>.Shared.Rent(coutG * virtualPositions);
        try
        {
            Array.Clear(staged, 0, planes * planeStride);
            int imageLength = Shape.InChannels * height * width;
            for (int b = 0; b < batch; b++)
            {
                var image = input.Slice(b * imageLength, imageLength);
                for (int g = 0; g < Shape.Groups; g++)
                {
                    for (int c = 0; c < cg; c++)
                    {
                        StagePhases(geometry, image.Slice((g * cg + c) * height * width, height * width), height, width, staged.AsSpan(c * phases * planeStride, phases * planeStride));
                    }

                    var patches = PackedFloatWeights.Wrap(level, k, virtualPositions, packed);
                    unsafe
                    {
                        fixed (float* source = staged)
                        fixed (float* target = packed)
                        {
                            var producer = new ShiftedPlaneProducer(Shape, geometry, source, cg, nr, k, target);
                            Fp32Gemm.Run(_float.AsSpan(g * coutG * k, coutG * k), coutG, patches, [], product.AsSpan(0, coutG * virtualPositions), OutputClamp.None,
                                maxDegreeOfParallelism, pool, producer);
                        }
                    }

                    var result = output.Slice((b * Shape.OutChannels + g * coutG) * positions, coutG * positions);
                    for (int r = 0; r < coutG; r++)
                    {
                        float bias = _bias[g * coutG + r];
                        for (int y = 0; y < oh; y++)
                        {
                            AddBiasAndClamp(product.AsSpan((r * virtualPositions) + (y * wq), ow), result.Slice((r * positions) + (y * ow), ow), bias, activation);
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packed);
            ArrayPool<float>.Shared.Return(staged);
            ArrayPool<float>.Shared.Return(product);
        }
    }

    /// <summary>One channel into its sh·sw phase planes (padding cells stay 0): row copies for stride-1 columns, else a strided split.</summary>
    private void StagePhases(PhaseGeometry geometry, ReadOnlySpan<float> plane, int height, int width, Span<float> phases)
    {
        int sw = Shape.StrideWidth;
        for (int iy = 0; iy < height; iy++)
        {
            var row = plane.Slice(iy * width, width);
            for (int pw = 0; pw < sw; pw++)
            {
                var (first, phase, cell) = geometry.Row(Shape, iy, pw);
                if (first >= width) continue;
                var target = phases.Slice((phase * geometry.Cells) + cell);
                if (sw == 1)
                {
                    row.CopyTo(target);
                    continue;
                }

                for (int ix = first, t = 0; ix < width; ix += sw, t++)
                {
                    target[t] = row[ix];
                }
            }
        }
    }

    /// <summary>Panels of the phase-plane path: K row (c, ky, kx) of panel p is NR staged values of its phase plane from p·NR + its shift.</summary>
    private readonly unsafe struct ShiftedPlaneProducer(Conv2dShape shape, PhaseGeometry geometry, float* staged, int channels, int nr, int k, float* panels)
        : IPanelProducer
    {
        public void Produce(int panelStart, int panelEnd)
        {
            nint panelStride = (nint)k * nr;
            int phases = shape.StrideHeight * shape.StrideWidth, kIndex = 0;
            for (int c = 0; c < channels; c++)
            {
                for (int ky = 0; ky < shape.KernelHeight; ky++)
                {
                    for (int kx = 0; kx < shape.KernelWidth; kx++, kIndex++)
                    {
                        var (phase, offset) = geometry.Tap(shape, ky, kx);
                        float* source = staged + ((((nint)c * phases) + phase) * geometry.Cells) + offset + ((nint)panelStart * nr);
                        float* target = panels + ((nint)panelStart * panelStride) + ((nint)kIndex * nr);
                        for (int p = panelStart; p < panelEnd; p++, source += nr, target += panelStride)
                        {
                            // NR is two vectors of the elementwise width (32, 16 or 8 floats): copied as such, no call.
                            if (nr == 32 && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
                            {
                                System.Runtime.Intrinsics.Vector512.Store(System.Runtime.Intrinsics.Vector512.Load(source), target);
                                System.Runtime.Intrinsics.Vector512.Store(System.Runtime.Intrinsics.Vector512.Load(source + 16), target + 16);
                                continue;
                            }

                            for (int i = 0; i < nr; i += 8)
                            {
                                System.Runtime.Intrinsics.Vector256.Store(System.Runtime.Intrinsics.Vector256.Load(source + i), target + i);
                            }
                        }
                    }
                }
            }
        }
    }

    private readonly unsafe struct PatchProducer(Conv2dShape shape, float* image, int imageLength, int height, int width, int group, int nr, float* panels, int panelsLength)
        : IPanelProducer
    {
        public void Produce(int panelStart, int panelEnd) =>
            shape.PackPatches(new ReadOnlySpan<float>(image, imageLength), height, width, group, 0f, nr, new Span<float>(panels, panelsLength), default, panelStart, panelEnd);
    }

    /// <summary>destination = clamp(source + bias) with compare-and-select (NaN passes, −0 stays −0), vectorized; in place when they are one span.</summary>
    private static void AddBiasAndClamp(ReadOnlySpan<float> source, Span<float> destination, float bias, OutputClamp clamp)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var vb = new System.Numerics.Vector<float>(bias);
            var lo = new System.Numerics.Vector<float>(clamp.Min);
            var hi = new System.Numerics.Vector<float>(clamp.Max);
            for (; i + System.Numerics.Vector<float>.Count <= source.Length; i += System.Numerics.Vector<float>.Count)
            {
                var y = new System.Numerics.Vector<float>(source.Slice(i)) + vb;
                y = System.Numerics.Vector.ConditionalSelect(System.Numerics.Vector.GreaterThan(lo, y), lo, y);
                System.Numerics.Vector.ConditionalSelect(System.Numerics.Vector.LessThan(hi, y), hi, y).CopyTo(destination.Slice(i));
            }
        }
        for (; i < source.Length; i++)
        {
            float y = source[i] + bias;
            y = clamp.Min > y ? clamp.Min : y;
            destination[i] = clamp.Max < y ? clamp.Max : y;
        }
    }

    /// <summary>
    /// Int8 forward pass over a batch of uint8 activations, dequantized to float (scale products, bias, clamp). Per image:
    /// the image is staged channels-last, each group's patches are packed straight into the int8 kernel's B layout
    /// (four channels of a pixel per 4-byte group on VNNI/Dp), the weights are A, and the exact int32 products
    /// [Cout/groups, OH·OW] are dequantized row by row into NCHW.
    /// </summary>
    /// <param name="input">[batch, InChannels, height, width] uint8 codes.</param>
    /// <param name="inputZeroPoint">The activations' zero point (also the padding value), in [0, 255].</param>
    /// <param name="inputScale">The activations' scale, finite and &gt; 0.</param>
    /// <param name="batch">Images, ≥ 0.</param>
    /// <param name="height">Input height.</param>
    /// <param name="width">Input width.</param>
    /// <param name="output">[batch, OutChannels, OH, OW] floats.</param>
    /// <param name="activation">The clamp fused into the output.</param>
    /// <param name="maxDegreeOfParallelism">Threads for each GEMM (1, −1 for all cores, or a limit).</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    public void Run(ReadOnlySpan<byte> input, int inputZeroPoint, float inputScale, int batch, int height, int width, Span<float> output, OutputClamp activation, int maxDegreeOfParallelism, KernelThreadPool? pool = null)
    {
        if (_int8 is null) throw new InvalidOperationException("This convolution has FP32 weights; pass float input.");
        if (inputZeroPoint is < 0 or > 255) throw new ArgumentOutOfRangeException(nameof(inputZeroPoint), inputZeroPoint, "The zero point must lie in [0, 255].");
        QuantParams.ValidateScale(inputScale, nameof(inputScale));
        Parallelism.Validate(maxDegreeOfParallelism);
        var (oh, ow, _, coutG) = Check(input.Length, batch, height, width, output.Length);
        var path = IsaConfig.Best.Int8Gemm;
        var tile = Int8GemmTile.Of(path);
        int cgp = _int8.Channels, k = Shape.KernelHeight * Shape.KernelWidth * cgp;   // the GEMM's K, padded channels included
        int positions = oh * ow, panels = (positions + tile.NR - 1) / tile.NR, width8 = tile.BBytes;
        int dataLength = panels * tile.PaddedK(k) * tile.NR * width8;
        int channels = Shape.InChannels;
        // Staged image: channels-last when a pixel's channels of a group do not split into whole KR groups (generic packing),
        // otherwise [C / KR][H·W][KR] elements (bytes shifted by −128, or int16 on the wide layouts), so that a panel of NR
        // positions along an output row reads NR·KR contiguous elements per (ky, kx, channel group): one block copy.
        int elementBytes = tile.BBytes;
        bool blocked = cgp % tile.KR == 0;
        // Strided layers take the phase planes (the blocked packing copies them a position at a time); at stride 1 the
        // blocked packing's row-run copies are as fast and need no extra columns (5–12% faster at 56² and 14² here).
        if (blocked && Shape.KernelHeight * Shape.KernelWidth > 1 && (Shape.StrideHeight > 1 || Shape.StrideWidth > 1))
        {
            RunInt8PhasePlanes(input, inputZeroPoint, inputScale, batch, height, width, output, activation, maxDegreeOfParallelism, pool, path, tile);
            return;
        }

        byte[] nhwc = ArrayPool<byte>.Shared.Rent(height * width * Shape.Groups * cgp * (blocked ? elementBytes : 1));
        byte[] data = ArrayPool<byte>.Shared.Rent(dataLength);
        int[] columnSums = ArrayPool<int>.Shared.Rent(positions);
        int[] zeroPoints = ArrayPool<int>.Shared.Rent(positions);
        int[] accumulators = ArrayPool<int>.Shared.Rent(coutG * positions);
        try
        {
            // Byte layouts hold int8: the uint8 image is stored shifted by −128 (xor 0x80), and so is its zero point. The
            // GEMM is told the patches have zero point 0 (so it runs its fused kernels, which add per-column terms only)
            // and the input zero point's term, zb · Σ_k (w − zw), a constant per output channel, is subtracted from each
            // row of exact int32 products before dequantization: the same integers as with the zero point in the GEMM.
            bool shifted = !tile.WideB;
            int patchZeroPoint = shifted ? inputZeroPoint - 128 : inputZeroPoint;
            Array.Clear(zeroPoints, 0, positions);
            for (int b = 0; b < batch; b++)
            {
                var image = input.Slice(b * channels * height * width, channels * height * width);
                if (blocked)
                {
                    StageBlocked(image, height * width, Shape.Groups, channels / Shape.Groups, cgp, tile.KR, shifted, nhwc);
                }
                else
                {
                    for (int c = 0; c < channels; c++)
                    {
                        var plane = image.Slice(c * height * width, height * width);
                        for (int p = 0; p < plane.Length; p++) nhwc[p * channels + c] = plane[p];
                    }
                }
                for (int g = 0; g < Shape.Groups; g++)
                {
                    if (blocked)
                    {
                        PackInt8PatchesBlocked(image, nhwc, height, width, g, cgp, (byte)inputZeroPoint, tile, shifted, data, columnSums);
                    }
                    else
                    {
                        Array.Clear(data, 0, dataLength);
                        PackInt8Patches(nhwc, height, width, g, (byte)inputZeroPoint, tile, shifted, data, columnSums);
                    }
                    MultiplyAndDequantize(path, k, positions, ow, data, columnSums, zeroPoints, g, coutG, accumulators, null, patchZeroPoint, inputScale,
                        activation, output.Slice(b * Shape.OutChannels * positions, Shape.OutChannels * positions), oh, ow, maxDegreeOfParallelism, pool);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(nhwc);
            ArrayPool<byte>.Shared.Return(data);
            ArrayPool<int>.Shared.Return(columnSums);
            ArrayPool<int>.Shared.Return(zeroPoints);
            ArrayPool<int>.Shared.Return(accumulators);
        }
    }

    /// <summary>
    /// The int8 form of <see cref="RunPhasePlanes"/> for layers whose channels come in whole KR groups: each group of KR
    /// channels is staged as sh·sw phase planes of KR-element cells (the layout's bytes, shifted by −128, or int16),
    /// padding cells holding the zero point in every channel (as the general path packs them); the GEMM runs over OH·Wq
    /// virtual positions, and K group (ky, kx, channel group) of a panel is one contiguous copy of NR cells from its phase
    /// plane shifted by ⌊ky·dh / sh⌋·Wq + ⌊kx·dw / sw⌋. Column sums are the same shifted sums of per-cell channel sums.
    /// The packed values and sums of every kept position equal the general path's, so the int32 products are identical.
    /// </summary>
    private void RunInt8PhasePlanes(ReadOnlySpan<byte> input, int inputZeroPoint, float inputScale, int batch, int height, int width, Span<float> output,
        OutputClamp activation, int maxDegreeOfParallelism, KernelThreadPool? pool, Int8GemmPath path, Int8GemmTile tile)
    {
        var (oh, ow, _, coutG) = Check(input.Length, batch, height, width, output.Length);
        int cg = Shape.InChannels / Shape.Groups, cgp = _int8!.Channels, kr = tile.KR, nr = tile.NR, es = tile.BBytes, blocks = cgp / kr;
        int taps = Shape.KernelHeight * Shape.KernelWidth, k = taps * cgp;
        var geometry = PhaseGeometry.Of(Shape, height, width, nr);
        int sw = Shape.StrideWidth, phases = Shape.StrideHeight * sw, pixels = height * width;
        int wq = geometry.Wq, virtualPositions = geometry.VirtualPositions, panels = geometry.Panels, cells = geometry.Cells;
        int laneBytes = kr * es, planeBytes = cells * laneBytes;
        int panelBytes = k * nr * es, groupBytes = nr * laneBytes;
        bool shifted = !tile.WideB;
        int patchZeroPoint = shifted ? inputZeroPoint - 128 : inputZeroPoint, shift = shifted ? 128 : 0;
        byte[] staged = ArrayPool<byte>.Shared.Rent(blocks * phases * planeBytes);
        int[] cellSums = ArrayPool<int>.Shared.Rent(phases * cells);
        int[] pixelSums = ArrayPool<int>.Shared.Rent(pixels);
        byte[] data = ArrayPool<byte>.Shared.Rent(panels * panelBytes);
        int[] columnSums = ArrayPool<int>.Shared.Rent(panels * nr);
        int[] zeroPoints = ArrayPool<int>.Shared.Rent(panels * nr);
        int[] accumulators = ArrayPool<int>.Shared.Rent(coutG * virtualPositions);
        float[] rowBuffer = ArrayPool<float>.Shared.Rent(virtualPositions);
        try
        {
            Array.Clear(zeroPoints, 0, panels * nr);
            int imageLength = Shape.InChannels * pixels;
            for (int b = 0; b < batch; b++)
            {
                var image = input.Slice(b * imageLength, imageLength);
                for (int g = 0; g < Shape.Groups; g++)
                {
                    // Staging: padding everywhere (the zero point in every channel, as stored), then the image's pixels.
                    var stagedSpan = staged.AsSpan(0, blocks * phases * planeBytes);
                    if (shifted) stagedSpan.Fill((byte)(inputZeroPoint ^ 0x80));
                    else System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(stagedSpan).Fill((short)inputZeroPoint);
                    cellSums.AsSpan(0, phases * cells).Fill(inputZeroPoint * cgp);
                    Array.Clear(pixelSums, 0, pixels);
                    for (int c = 0; c < cg; c++)
                    {
                        AddPlane(image.Slice(((g * cg) + c) * pixels, pixels), pixelSums.AsSpan(0, pixels));
                    }

                    for (int iy = 0; iy < height; iy++)
                    {
                        for (int pw = 0; pw < sw; pw++)
                        {
                            var (first, phase, cell0) = geometry.Row(Shape, iy, pw);
                            if (first >= width) continue;
                            for (int ix = first, cell = cell0; ix < width; ix += sw, cell++)
                            {
                                cellSums[(phase * cells) + cell] = pixelSums[(iy * width) + ix];
                            }

                            for (int cb = 0; cb < blocks; cb++)
                            {
                                StageRow(image, (g * cg) + (cb * kr), Math.Min(kr, cg - (cb * kr)), kr, pixels, (iy * width) + first, sw, width - first, shifted,
                                    staged.AsSpan((((cb * phases) + phase) * planeBytes) + (cell0 * laneBytes)));
                            }
                        }
                    }

                    // Packing: K group (tap, channel block) of panel p is NR cells of its phase plane from p·NR + the tap's shift.
                    for (int t = 0; t < taps; t++)
                    {
                        var (phase, offset) = geometry.Tap(Shape, t / Shape.KernelWidth, t % Shape.KernelWidth);
                        for (int cb = 0; cb < blocks; cb++)
                        {
                            ref byte from = ref staged[(((cb * phases) + phase) * planeBytes) + (offset * laneBytes)];
                            ref byte to = ref data[((t * blocks) + cb) * groupBytes];
                            if (groupBytes == 64)
                            {
                                // VNNI / Dp layouts: 16 lanes × 4 bytes, two 256-bit moves (no call).
                                for (int p = 0; p < panels; p++)
                                {
                                    ref byte f = ref Unsafe.Add(ref from, p * 64);
                                    ref byte d = ref Unsafe.Add(ref to, p * panelBytes);
                                    System.Runtime.Intrinsics.Vector256.StoreUnsafe(System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref f), ref d);
                                    System.Runtime.Intrinsics.Vector256.StoreUnsafe(System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref f, 32), ref d, 32);
                                }
                            }
                            else
                            {
                                for (int p = 0; p < panels; p++)
                                {
                                    Unsafe.CopyBlockUnaligned(ref Unsafe.Add(ref to, p * panelBytes), ref Unsafe.Add(ref from, p * groupBytes), (uint)groupBytes);
                                }
                            }
                        }

                        var sums = columnSums.AsSpan(0, virtualPositions);
                        var tapSums = cellSums.AsSpan((phase * cells) + offset, virtualPositions);
                        if (t == 0) tapSums.CopyTo(sums);
                        else System.Numerics.Tensors.TensorPrimitives.Add(sums, tapSums, sums);
                    }

                    System.Numerics.Tensors.TensorPrimitives.Subtract(columnSums.AsSpan(0, virtualPositions), shift * k, columnSums.AsSpan(0, virtualPositions));
                    MultiplyAndDequantize(path, k, virtualPositions, wq, data, columnSums, zeroPoints, g, coutG, accumulators, rowBuffer, patchZeroPoint, inputScale,
                        activation, output.Slice(b * Shape.OutChannels * oh * ow, Shape.OutChannels * oh * ow), oh, ow, maxDegreeOfParallelism, pool);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(staged);
            ArrayPool<int>.Shared.Return(cellSums);
            ArrayPool<int>.Shared.Return(pixelSums);
            ArrayPool<byte>.Shared.Return(data);
            ArrayPool<int>.Shared.Return(columnSums);
            ArrayPool<int>.Shared.Return(zeroPoints);
            ArrayPool<int>.Shared.Return(accumulators);
            ArrayPool<float>.Shared.Return(rowBuffer);
        }
    }

    /// <summary>
    /// One group's int8 GEMM (weights as A, <paramref name="columns"/> packed patch columns as B) and its dequantization
    /// into one image's NCHW output: output row y of a channel is columns [y·<paramref name="rowStride"/>, … + OW). With
    /// virtual columns (row stride &gt; OW) each channel row is dequantized whole into <paramref name="rowBuffer"/> (at
    /// vector width) and its kept segments copied.
    /// </summary>
    private void MultiplyAndDequantize(Int8GemmPath path, int k, int columns, int rowStride, byte[] data, int[] columnSums, int[] zeroPoints, int g, int coutG,
        int[] accumulators, float[]? rowBuffer, int patchZeroPoint, float inputScale, OutputClamp activation, Span<float> imageOutput, int oh, int ow,
        int maxDegreeOfParallelism, KernelThreadPool? pool)
    {
        var patches = PackedInt8Weights.Wrap(path, k, columns, data, columnSums, zeroPoints);
        var weights = System.Runtime.InteropServices.MemoryMarshal.AsBytes(_int8!.Weights.AsSpan(g * coutG * k, coutG * k));
        var acc = accumulators.AsSpan(0, coutG * columns);
        Int8Gemm.Run(true, weights, coutG, _int8.ZeroPoint, patches, acc, default, default, maxDegreeOfParallelism, pool);
        int positions = oh * ow;
        for (int r = 0; r < coutG; r++)
        {
            int co = g * coutG + r;
            var target = imageOutput.Slice(co * positions, positions);
            var row = rowStride == ow ? target : rowBuffer.AsSpan(0, columns);
            Dequantize(acc.Slice(r * columns, columns), patchZeroPoint * _int8.CentredSums[co], inputScale * _int8.Scales[co], _bias[co], activation, row);
            if (rowStride != ow)
            {
                for (int y = 0; y < oh; y++)
                {
                    row.Slice(y * rowStride, ow).CopyTo(target.Slice(y * ow, ow));
                }
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="count"/> pixels (every <paramref name="step"/>-th from <paramref name="pixel"/>) of KR channels
    /// from <paramref name="channel"/> (the first <paramref name="real"/> of them real, the rest 0) as consecutive cells.
    /// </summary>
    private static void StageRow(ReadOnlySpan<byte> image, int channel, int real, int kr, int pixels, int pixel, int step, int count, bool shifted, Span<byte> target)
    {
        int n = (count + step - 1) / step;
        if (shifted && kr == 4 && real == 4)
        {
            // Checked once here: the row's last pixel of the last channel, and n cells of the target.
            _ = image[((channel + 3) * pixels) + pixel + ((n - 1) * step)];
            _ = target[(n * 4) - 1];
            ref byte p0 = ref Unsafe.AsRef(in image[(channel * pixels) + pixel]);
            ref byte p1 = ref Unsafe.Add(ref p0, pixels);
            ref byte p2 = ref Unsafe.Add(ref p1, pixels);
            ref byte p3 = ref Unsafe.Add(ref p2, pixels);
            ref byte words = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(target);
            for (int i = 0, s = 0; i < n; i++, s += step)
            {
                uint word = Unsafe.Add(ref p0, s) | ((uint)Unsafe.Add(ref p1, s) << 8) | ((uint)Unsafe.Add(ref p2, s) << 16) | ((uint)Unsafe.Add(ref p3, s) << 24);
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref words, i * 4), word ^ 0x80808080u);
            }

            return;
        }

        var shorts = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(target.Slice(0, shifted ? 0 : n * kr * 2));
        for (int j = 0; j < kr; j++)
        {
            var plane = j < real ? image.Slice(((channel + j) * pixels) + pixel) : default;
            for (int i = 0, s = 0; i < n; i++, s += step)
            {
                int raw = j < real ? plane[s] : 0;
                if (shifted) target[(i * kr) + j] = (byte)(raw ^ 0x80);
                else shorts[(i * kr) + j] = (short)raw;
            }
        }
    }

    /// <summary>
    /// Packs one group's patches from the channels-last image into the int8 kernel's B layout (<see cref="Int8GemmTile.PanelStart"/>,
    /// <see cref="Int8GemmTile.InPanel"/>): reduction index k = (ky·KW + kx)·Cg + c, position q as column q. Padding holds the
    /// zero point. Also sums each position's column.
    /// </summary>
    private void PackInt8Patches(byte[] nhwc, int height, int width, int group, byte padding, Int8GemmTile tile, bool shifted, byte[] data, int[] columnSums)
    {
        var (oh, ow) = Shape.OutputSize(height, width);
        int cg = Shape.InChannels / Shape.Groups, channels = Shape.InChannels, kp = tile.PaddedK(Shape.GroupK);
        int nr = tile.NR, kr = tile.KR, shift = shifted ? 128 : 0, k = Shape.GroupK;
        // When a pixel's channels split into whole KR groups, each group is KR contiguous bytes of the channels-last image
        // landing in one KR-wide slot: one 4-byte copy (with the xor) on the byte layouts, KR widened values otherwise.
        bool grouped = cg % kr == 0;
        uint flip = shifted ? 0x80808080u : 0u, paddingWord = (padding * 0x01010101u) ^ flip;
        ref byte image = ref nhwc[0];
        ref byte bytes = ref data[0];
        ref short shorts = ref Unsafe.As<byte, short>(ref data[0]);
        // Each pixel's channel sum once, so a position's column sum is KH·KW lookups instead of K additions.
        int[] pixelSums = ArrayPool<int>.Shared.Rent(height * width);
        for (int p = 0; p < height * width; p++) pixelSums[p] = SumBytes(ref Unsafe.Add(ref image, p * channels + group * cg), cg);
        try
        {
            for (int q = 0; q < oh * ow; q++)
            {
                int y = q / ow, x = q % ow, lane = q % nr, panelBase = (int)tile.PanelStart(kp, q), rawSum = 0;
                // k = (ky·KW + kx)·Cg + c runs 0 … K − 1 in loop order: the in-panel offset advances by 1 inside a KR group
                // and jumps by NR·KR − (KR − 1) to the next group (no division per element).
                int index0 = panelBase + (lane * kr), r = 0;
                for (int ky = 0; ky < Shape.KernelHeight; ky++)
                {
                    int iy = y * Shape.StrideHeight - Shape.PadTop + ky * Shape.DilationHeight;
                    for (int kx = 0; kx < Shape.KernelWidth; kx++)
                    {
                        int ix = x * Shape.StrideWidth - Shape.PadLeft + kx * Shape.DilationWidth;
                        bool inside = (uint)iy < (uint)height && (uint)ix < (uint)width;
                        int source = (iy * width + ix) * channels + group * cg;
                        if (grouped && kr == 4 && shifted)
                        {
                            for (int c = 0; c < cg; c += 4, index0 += nr * 4)
                            {
                                uint word = inside ? Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref image, source + c)) ^ flip : paddingWord;
                                Unsafe.WriteUnaligned(ref Unsafe.Add(ref bytes, index0), word);
                            }
                            rawSum += inside ? pixelSums[iy * width + ix] : padding * cg;
                            continue;
                        }
                        for (int c = 0; c < cg; c++)
                        {
                            int raw = inside ? Unsafe.Add(ref image, source + c) : padding;
                            if (shifted) Unsafe.Add(ref bytes, index0) = (byte)(raw - shift);
                            else Unsafe.Add(ref shorts, index0) = (short)raw;
                            rawSum += raw;
                            if (++r == kr)
                            {
                                r = 0;
                                index0 += (nr * kr) - (kr - 1);
                            }
                            else
                            {
                                index0++;
                            }
                        }
                    }
                }
                columnSums[q] = rawSum - shift * k;
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(pixelSums);
        }
    }

    /// <summary>
    /// Stages one NCHW uint8 image as [groups][Cp / KR][H·W][KR] elements, Cp a group's channels padded to a multiple of KR
    /// (padding channels hold raw 0): bytes shifted by −128 (the byte layouts hold int8) or int16 (the wide layouts), KR
    /// channels of a pixel side by side, as the packed B panels group them.
    /// </summary>
    private static void StageBlocked(ReadOnlySpan<byte> image, int pixels, int groups, int cg, int cgp, int kr, bool shifted, byte[] staged)
    {
        ref byte source = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(image);
        ref byte bytes = ref staged[0];
        ref short shorts = ref Unsafe.As<byte, short>(ref staged[0]);
        for (int g = 0; g < groups; g++)
        {
            for (int c0 = 0; c0 < cgp; c0 += kr)
            {
                int blockBase = ((g * cgp) + c0) * pixels;   // element index of the block: (g · Cp / KR + c0 / KR) · pixels · KR
                int channel = (g * cg) + c0;
                if (shifted && kr == 4 && c0 + 4 <= cg)
                {
                    ref byte p0 = ref Unsafe.Add(ref source, channel * pixels);
                    ref byte p1 = ref Unsafe.Add(ref p0, pixels);
                    ref byte p2 = ref Unsafe.Add(ref p1, pixels);
                    ref byte p3 = ref Unsafe.Add(ref p2, pixels);
                    for (int p = 0; p < pixels; p++)
                    {
                        uint word = Unsafe.Add(ref p0, p) | ((uint)Unsafe.Add(ref p1, p) << 8) | ((uint)Unsafe.Add(ref p2, p) << 16) | ((uint)Unsafe.Add(ref p3, p) << 24);
                        Unsafe.WriteUnaligned(ref Unsafe.Add(ref bytes, blockBase + (p * 4)), word ^ 0x80808080u);
                    }

                    continue;
                }

                for (int j = 0; j < kr; j++)
                {
                    bool real = c0 + j < cg;
                    ref byte plane = ref Unsafe.Add(ref source, real ? (channel + j) * pixels : 0);
                    for (int p = 0; p < pixels; p++)
                    {
                        int raw = real ? Unsafe.Add(ref plane, p) : 0, index = blockBase + (p * kr) + j;
                        if (shifted) Unsafe.Add(ref bytes, index) = (byte)(raw ^ 0x80);
                        else Unsafe.Add(ref shorts, index) = (short)raw;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Packs one group's patches from the blocked staging (<see cref="StageBlocked"/>) into the int8 kernel's B layout,
    /// k = (ky·KW + kx)·Cg + c as <see cref="PackInt8Patches"/>: a panel of NR positions that lie on one output row, with
    /// stride 1 and every tap inside the image, copies NR·KR contiguous elements per (ky, kx, channel group); other
    /// panels (padding, row ends, strides) copy KR elements per position. Column sums come from per-pixel channel sums.
    /// </summary>
    private void PackInt8PatchesBlocked(ReadOnlySpan<byte> image, byte[] staged, int height, int width, int group, int cgp, byte padding, Int8GemmTile tile, bool shifted,
        byte[] data, int[] columnSums)
    {
        var (oh, ow) = Shape.OutputSize(height, width);
        int cg = Shape.InChannels / Shape.Groups, k = Shape.KernelHeight * Shape.KernelWidth * cgp, kp = tile.PaddedK(k), pixels = height * width, positions = oh * ow;
        int nr = tile.NR, kr = tile.KR, blocks = cgp / kr, es = shifted ? 1 : 2, shift = shifted ? 128 : 0;
        int kw = Shape.KernelWidth, taps = Shape.KernelHeight * kw;
        int laneBytes = kr * es, groupBytes = nr * laneBytes, blockStride = pixels * laneBytes;
        int panelBytes = kp * nr * es;
        ref byte source = ref Unsafe.Add(ref staged[0], group * blocks * blockStride);
        ref byte target = ref data[0];
        for (int q0 = 0; q0 < positions; q0 += nr)
        {
            ref byte panel = ref Unsafe.Add(ref target, (q0 / nr) * panelBytes);
            for (int t = 0; t < taps; t++)
            {
                int ky = t / kw, kx = t % kw;
                ref byte tapGroups = ref Unsafe.Add(ref panel, t * blocks * groupBytes);
                // Runs of lanes on one output row: with stride 1 their taps are consecutive pixels, so the part inside
                // the image is one block copy per channel group and the rest padding.
                for (int lane = 0; lane < nr;)
                {
                    int q = q0 + lane;
                    if (q >= positions)
                    {
                        Fill(ref tapGroups, lane, nr - lane, blocks, groupBytes, laneBytes, padding: null, shifted);   // past the last position
                        break;
                    }

                    int y = q / ow, x = q % ow, run = Math.Min(nr - lane, ow - x);
                    int iy = y * Shape.StrideHeight - Shape.PadTop + ky * Shape.DilationHeight;
                    int ix = x * Shape.StrideWidth - Shape.PadLeft + kx * Shape.DilationWidth;
                    if ((uint)iy >= (uint)height)
                    {
                        Fill(ref tapGroups, lane, run, blocks, groupBytes, laneBytes, padding, shifted);
                    }
                    else if (Shape.StrideWidth == 1)
                    {
                        int first = Math.Clamp(-ix, 0, run), end = Math.Clamp(width - ix, first, run);
                        Fill(ref tapGroups, lane, first, blocks, groupBytes, laneBytes, padding, shifted);
                        if (end > first)
                        {
                            ref byte from = ref Unsafe.Add(ref source, ((iy * width) + ix + first) * laneBytes);
                            ref byte to = ref Unsafe.Add(ref tapGroups, (lane + first) * laneBytes);
                            uint bytes = (uint)((end - first) * laneBytes);
                            for (int c = 0; c < blocks; c++)
                            {
                                Unsafe.CopyBlockUnaligned(ref Unsafe.Add(ref to, c * groupBytes), ref Unsafe.Add(ref from, c * blockStride), bytes);
                            }
                        }

                        Fill(ref tapGroups, lane + end, run - end, blocks, groupBytes, laneBytes, padding, shifted);
                    }
                    else
                    {
                        for (int i = 0; i < run; i++, ix += Shape.StrideWidth)
                        {
                            if ((uint)ix >= (uint)width)
                            {
                                Fill(ref tapGroups, lane + i, 1, blocks, groupBytes, laneBytes, padding, shifted);
                                continue;
                            }

                            ref byte from = ref Unsafe.Add(ref source, ((iy * width) + ix) * laneBytes);
                            ref byte to = ref Unsafe.Add(ref tapGroups, (lane + i) * laneBytes);
                            for (int c = 0; c < blocks; c++)
                            {
                                ref byte d = ref Unsafe.Add(ref to, c * groupBytes);
                                ref byte f = ref Unsafe.Add(ref from, c * blockStride);
                                if (laneBytes == 4) Unsafe.WriteUnaligned(ref d, Unsafe.ReadUnaligned<uint>(ref f));   // one lane of a KR = 4 byte layout
                                else Unsafe.CopyBlockUnaligned(ref d, ref f, (uint)laneBytes);
                            }
                        }
                    }

                    lane += run;
                }
            }
        }

        // Column sums: each pixel's channel sum (of the raw uint8 values) once, then KH·KW lookups per position.
        int[] pixelSums = ArrayPool<int>.Shared.Rent(pixels);
        try
        {
            Array.Clear(pixelSums, 0, pixels);
            for (int c = 0; c < cg; c++)
            {
                AddPlane(image.Slice(((group * cg) + c) * pixels, pixels), pixelSums.AsSpan(0, pixels));
            }

            int kh = Shape.KernelHeight, paddedTap = padding * cgp;   // Fill writes the padding into the padded channels too
            for (int y = 0, q = 0; y < oh; y++)
            {
                for (int x = 0; x < ow; x++, q++)
                {
                    int rawSum = 0, iy0 = (y * Shape.StrideHeight) - Shape.PadTop, ix0 = (x * Shape.StrideWidth) - Shape.PadLeft;
                    for (int ky = 0; ky < kh; ky++)
                    {
                        int iy = iy0 + (ky * Shape.DilationHeight);
                        if ((uint)iy >= (uint)height)
                        {
                            rawSum += paddedTap * kw;
                            continue;
                        }

                        for (int kx = 0; kx < kw; kx++)
                        {
                            int ix = ix0 + (kx * Shape.DilationWidth);
                            rawSum += (uint)ix < (uint)width ? pixelSums[(iy * width) + ix] : paddedTap;
                        }
                    }

                    columnSums[q] = rawSum - (shift * k);
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(pixelSums);
        }
    }

    /// <summary>
    /// Fills <paramref name="count"/> lanes from <paramref name="lane"/> of every channel group of one tap with the padding
    /// value (stored as the layout stores values), or zeros past the last position (null).
    /// </summary>
    private static void Fill(ref byte tapGroups, int lane, int count, int blocks, int groupBytes, int laneBytes, byte? padding, bool shifted)
    {
        if (count <= 0)
        {
            return;
        }

        for (int c = 0; c < blocks; c++)
        {
            var span = System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref Unsafe.Add(ref tapGroups, (c * groupBytes) + (lane * laneBytes)), count * laneBytes);
            if (padding is not byte value) span.Clear();
            else if (shifted) span.Fill((byte)(value ^ 0x80));
            else System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(span).Fill(value);
        }
    }

    /// <summary>sums[p] += plane[p], vectorized (bytes widened to int32).</summary>
    private static void AddPlane(ReadOnlySpan<byte> plane, Span<int> sums)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            int step = System.Numerics.Vector<byte>.Count, quarter = System.Numerics.Vector<int>.Count;
            var s = System.Runtime.InteropServices.MemoryMarshal.Cast<int, System.Numerics.Vector<int>>(sums);
            for (; i + step <= plane.Length; i += step)
            {
                var v = new System.Numerics.Vector<byte>(plane.Slice(i));
                System.Numerics.Vector.Widen(v, out var lo, out var hi);
                System.Numerics.Vector.Widen(lo, out var a, out var b2);
                System.Numerics.Vector.Widen(hi, out var c, out var d);
                int v0 = i / quarter;
                s[v0] += System.Numerics.Vector.AsVectorInt32(a);
                s[v0 + 1] += System.Numerics.Vector.AsVectorInt32(b2);
                s[v0 + 2] += System.Numerics.Vector.AsVectorInt32(c);
                s[v0 + 3] += System.Numerics.Vector.AsVectorInt32(d);
            }
        }

        for (; i < plane.Length; i++) sums[i] += plane[i];
    }

    private static int SumBytes(ref byte start, int count)
    {
        int sum = 0;
        for (int i = 0; i < count; i++) sum += Unsafe.Add(ref start, i);
        return sum;
    }

    /// <summary>output = clamp((float)(acc − rowTerm) · scale + bias), the same operations as the GEMM's float stage.</summary>
    private static void Dequantize(ReadOnlySpan<int> acc, int rowTerm, float scale, float bias, OutputClamp clamp, Span<float> output)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var s = new System.Numerics.Vector<float>(scale);
            var vb = new System.Numerics.Vector<float>(bias);
            var lo = new System.Numerics.Vector<float>(clamp.Min);
            var hi = new System.Numerics.Vector<float>(clamp.Max);
            var term = new System.Numerics.Vector<int>(rowTerm);
            var a = System.Runtime.InteropServices.MemoryMarshal.Cast<int, System.Numerics.Vector<int>>(acc);
            var o = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(output);
            for (int v = 0; v < a.Length && v < o.Length; v++)
            {
                var y = System.Numerics.Vector.ConvertToSingle(a[v] - term) * s + vb;
                y = System.Numerics.Vector.ConditionalSelect(System.Numerics.Vector.LessThan(y, lo), lo, y);
                o[v] = System.Numerics.Vector.ConditionalSelect(System.Numerics.Vector.GreaterThan(y, hi), hi, y);
            }
            i = Math.Min(a.Length, o.Length) * System.Numerics.Vector<float>.Count;
        }
        for (; i < acc.Length; i++) output[i] = Math.Clamp((acc[i] - rowTerm) * scale + bias, clamp.Min, clamp.Max);
    }

    private static int CheckWeights(Conv2dShape shape, int weights, int bias)
    {
        if (weights != (long)shape.OutChannels * shape.GroupK)
            throw new ArgumentException($"Expected {(long)shape.OutChannels * shape.GroupK} weights for {shape.OutChannels}×{shape.InChannels / shape.Groups}×{shape.KernelHeight}×{shape.KernelWidth}, got {weights}.", nameof(weights));
        if (bias != 0 && bias != shape.OutChannels) throw new ArgumentException($"Bias must be empty or hold {shape.OutChannels} values, got {bias}.", nameof(bias));
        return shape.OutChannels / shape.Groups;
    }

    private (int OH, int OW, int K, int CoutG) Check(int inputLength, int batch, int height, int width, int outputLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        var (oh, ow) = Shape.OutputSize(height, width);
#pragma warning disable CA2208 // the exceptions name the caller's parameters input and output, whose lengths this helper checks
        if (inputLength != (long)batch * Shape.InChannels * height * width)
            throw new ArgumentException($"Input must hold {(long)batch * Shape.InChannels * height * width} values ([{batch}, {Shape.InChannels}, {height}, {width}]), got {inputLength}.", "input");
        if (outputLength != (long)batch * Shape.OutChannels * oh * ow)
            throw new ArgumentException($"Output must hold {(long)batch * Shape.OutChannels * oh * ow} values ([{batch}, {Shape.OutChannels}, {oh}, {ow}]), got {outputLength}.", "output");
#pragma warning restore CA2208
        return (oh, ow, Shape.GroupK, Shape.OutChannels / Shape.Groups);
    }

}
