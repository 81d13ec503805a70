using Quant.Net.Simd;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quant.Net.Kernels;

/// <summary>
/// 2-D convolution (NCHW) as a GEMM over an implicit patch matrix, FP32 and int8; the patch matrix is never written
/// out. FP32: per group, the output pixels are the rows and the packed weights [K, Cout/groups] are B; each tile of
/// pixels reads its taps in the padded image through a table of offsets, and is written transposed into NCHW. Int8: the
/// weights [Cout/groups, K] are A, and each image is staged once into stride phase planes of which every K row of a B
/// panel is a shifted view, so the product is already NCHW. Depthwise layers skip the GEMM.
/// </summary>
public sealed partial class Conv2d
{
    private readonly float[]? _float; // [OutChannels, GroupK]: the depthwise path reads it, the GEMM path packs it (PackForPixelTiles)
    private readonly Int8ConvWeights? _int8;
    private readonly float[] _bias;
    private CodeStage? _codeStage; // the uint8 output stage of the last call (immutable; replaced whole, so calls on other threads read a consistent one)

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

        // The GEMM's A rows per group, packed once for this process's kernels (shifted to uint8 for VNNI, widened on AVX2):
        // a call reads them in place. Depthwise layers that never run the GEMM keep the reordered codes only.
        PackedInt8Rows[]? rows = null;
        if (!(shape.InChannels == shape.Groups && kh * kw <= DepthwiseExactTaps))
        {
            int coutG = cout / shape.Groups;
            rows = new PackedInt8Rows[shape.Groups];
            for (int g = 0; g < shape.Groups; g++)
            {
                rows[g] = Int8Gemm.PackRows(IsaConfig.Best.Int8Gemm, System.Runtime.InteropServices.MemoryMarshal.AsBytes(reordered.AsSpan(g * coutG * kq, coutG * kq)), true, coutG, kq);
            }
        }

        return new Conv2d(shape, null, new Int8ConvWeights(rows is null ? reordered : [], rows, perChannel, zeroPoint, centredSums, cgp), bias.IsEmpty ? new float[cout] : bias.ToArray());
    }

    /// <summary>Channels per group as the int8 layout holds them: rounded up to KR from 3 channels on, as they are.</summary>
    private static int PaddedChannels(int cg, int kr) => cg % kr == 0 || cg < 3 ? cg : (cg + kr - 1) / kr * kr;

    /// <summary>
    /// Int8 weights reordered to (ky, kx, c) per output channel with <paramref name="Channels"/> channels per group (padded
    /// ones hold the zero point): as codes for the depthwise path (<paramref name="Weights"/>, empty otherwise), or packed
    /// per group for the GEMM (<paramref name="Rows"/>, null for depthwise layers that do not run it); their scales, their shared zero point and Σ (w − zw) per channel.
    /// </summary>
    private sealed record Int8ConvWeights(sbyte[] Weights, PackedInt8Rows[]? Rows, float[] Scales, int ZeroPoint, int[] CentredSums, int Channels);

    /// <summary>
    /// Where an int8 convolution's outputs go: floats (dequantized, bias, clamp) or uint8 codes (<see cref="CodeStage"/>).
    /// Pointers into the caller's pinned output, so that worker threads can write it.
    /// </summary>
    private readonly unsafe struct Int8Output(float* floats, byte* codes, CodeStage? stage, int length)
    {
        public float* Floats => floats;

        public byte* Codes => codes;

        public CodeStage? Stage => stage;

        public int Length => length;

        /// <summary>One run of output channel products (the input zero point's term <paramref name="rowTerm"/> still in
        /// them) dequantized to the float output at <paramref name="offset"/>.</summary>
        public void Write(ReadOnlySpan<int> acc, int rowTerm, float scale, float bias, OutputClamp clamp, long offset) =>
            Dequantize(acc, rowTerm, scale, bias, clamp, new Span<float>(floats + offset, acc.Length));
    }

    /// <summary>
    /// The uint8 output stage (ONNX QLinearConv): per output channel the bias as an int32 at the accumulator scale and the
    /// multiplier <c>sx · sw / sy</c>; the codes' bounds (the encoding's range narrowed by the clamp's codes).
    /// </summary>
    private sealed class CodeStage
    {
        private readonly float[] _multipliers;
        private readonly float _zeroPoint, _low, _high;
        private readonly (float InputScale, QuantParams Output, float Min, float Max) _key;

        private CodeStage(int[] bias, float[] multipliers, float zeroPoint, float low, float high, (float, QuantParams, float, float) key)
        {
            Bias = bias;
            _multipliers = multipliers;
            (_zeroPoint, _low, _high) = (zeroPoint, low, high);
            _key = key;
        }

        /// <summary>Whether this stage was built for these arguments.</summary>
        public bool Serves(float inputScale, QuantParams output, OutputClamp clamp) => _key == (inputScale, output, clamp.Min, clamp.Max);

        /// <summary>Per output channel, round_half_to_even(bias / (sx · sw)).</summary>
        public int[] Bias { get; }

        public static CodeStage Of(Int8ConvWeights weights, float[] bias, float inputScale, QuantParams output, OutputClamp clamp)
        {
            int cout = bias.Length;
            var q = new int[cout];
            var multipliers = new float[cout];
            for (int co = 0; co < cout; co++)
            {
                float accumulatorScale = inputScale * weights.Scales[co];
                q[co] = (int)Math.Clamp(Math.Round(bias[co] / (double)accumulatorScale, MidpointRounding.ToEven), int.MinValue / 2, int.MaxValue / 2);
                multipliers[co] = accumulatorScale / output.Scale;
            }

            // The clamp's bounds as codes (monotone rounding: clamping the codes equals quantizing the clamped value).
            float low = Math.Max(output.QMin, Code(clamp.Min, output)), high = Math.Min(output.QMax, Code(clamp.Max, output));
            return new CodeStage(q, multipliers, output.ZeroPoint, low, Math.Max(low, high), (inputScale, output, clamp.Min, clamp.Max));
        }

        private static float Code(float value, QuantParams output) =>
            float.IsInfinity(value) ? value : MathF.Round(value / output.Scale, MidpointRounding.ToEven) + output.ZeroPoint;

        /// <summary>
        /// Codes of output channel <paramref name="co"/> from a run of its products less <paramref name="term"/> (what
        /// turns them into the centred sums plus the integer bias): <c>clamp(round_half_to_even((float)(p − term) · m) + zy)</c>,
        /// the scalar reference's requantization. 32 per step in 256-bit vectors, or 16 in 128-bit ones (every x64 and ARM64
        /// CPU), the last step overlapping the previous one, so short rows stay vectorized.
        /// </summary>
        public void Requantize(int co, ReadOnlySpan<int> products, int term, Span<byte> codes)
        {
            int n = products.Length;
            float m = _multipliers[co];
            _ = codes[..n];
            ref int source = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(products);
            ref byte target = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(codes);
            if (Vector256.IsHardwareAccelerated && n >= 32)
            {
                Steps<Simd256, Vector256<float>, Vector256<int>>(ref source, ref target, n, term, m);
                return;
            }

            if (Vector128.IsHardwareAccelerated && n >= 16)
            {
                Steps<Simd128, Vector128<float>, Vector128<int>>(ref source, ref target, n, term, m);
                return;
            }

            for (int i = 0; i < n; i++)
            {
                codes[i] = (byte)Math.Clamp(MathF.Round((float)(products[i] - term) * m, MidpointRounding.ToEven) + _zeroPoint, _low, _high);
            }
        }

        /// <summary>All of a run of n ≥ 4 · Count products, 4 vectors per step, the last step overlapping the one before.</summary>
        private void Steps<TV, TF, TI>(ref int source, ref byte target, int n, int term, float m)
            where TV : ISimd<TF, TI>
            where TF : struct
            where TI : struct
        {
            int count = TV.Count, step = 4 * count;
            TI shift = TV.SplatInt(-term);
            TF multiplier = TV.Splat(m), zeroPoint = TV.Splat(_zeroPoint), low = TV.Splat(_low), high = TV.Splat(_high);
            for (int i = 0; ; i += step)
            {
                if (i + step > n) i = n - step;
                ref int p = ref Unsafe.Add(ref source, i);
                TV.StoreNarrow4(
                    Code<TV, TF, TI>(TV.LoadInt(ref p), shift, multiplier, zeroPoint, low, high),
                    Code<TV, TF, TI>(TV.LoadInt(ref Unsafe.Add(ref p, count)), shift, multiplier, zeroPoint, low, high),
                    Code<TV, TF, TI>(TV.LoadInt(ref Unsafe.Add(ref p, 2 * count)), shift, multiplier, zeroPoint, low, high),
                    Code<TV, TF, TI>(TV.LoadInt(ref Unsafe.Add(ref p, 3 * count)), shift, multiplier, zeroPoint, low, high),
                    ref Unsafe.Add(ref target, i));
                if (i + step == n) return;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static TI Code<TV, TF, TI>(TI products, TI shift, TF multiplier, TF zeroPoint, TF low, TF high)
            where TV : ISimd<TF, TI>
            where TF : struct
            where TI : struct =>
            TV.ToInt32(TV.Clamp(TV.Add(TV.Round(TV.Multiply(TV.ToSingle(TV.AddInt(products, shift)), multiplier)), zeroPoint), low, high));
    }

    /// <summary>
    /// FP32 forward pass over a batch. Per image and group: the channels are staged with their padding, the output pixels
    /// are the GEMM's rows, read in place through tap offsets, and the weights, packed once per layer, are B; bias and
    /// clamp run in the kernel, which writes each tile transposed into NCHW. Depthwise layers (one input channel per
    /// group) skip the GEMM: each output channel is a weighted sum of its shifted planes, vectorized along the positions.
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
        var level = IsaConfig.Best.Elementwise;
        if (Shape.InChannels == Shape.Groups)
        {
            RunDepthwise(input, batch, height, width, output, activation, maxDegreeOfParallelism, pool, level);
            return;
        }

        RunPixelTiles(input, batch, height, width, output, activation, maxDegreeOfParallelism, pool, level);
    }

    /// <summary>
    /// Sizes of the phase-plane paths for one input size: plane width Wq, OH·Wq virtual positions, their NR-wide panels,
    /// the cells of a plane (its share of the padded image, and the reach of the last panel's lanes past it), and which
    /// phase planes some tap reads (bit per phase; a 1×1 stride-2 layer reads one of four, the others are not staged).
    /// </summary>
    private readonly record struct PhaseGeometry(int Wq, int VirtualPositions, int Panels, int Cells, ulong UsedPhases)
    {
        public static PhaseGeometry Of(Conv2dShape shape, int height, int width, int nr)
        {
            int sh = shape.StrideHeight, sw = shape.StrideWidth;
            int wq = (width + shape.PadLeft + shape.PadRight + sw - 1) / sw, hq = (height + shape.PadTop + shape.PadBottom + sh - 1) / sh;
            int virtualPositions = shape.OutputSize(height, width).Height * wq, panels = (virtualPositions + nr - 1) / nr;
            int reach = ((shape.KernelHeight - 1) * shape.DilationHeight / sh * wq) + ((shape.KernelWidth - 1) * shape.DilationWidth / sw);
            ulong used = sh * sw > 64 ? ulong.MaxValue : 0;
            for (int ky = 0; ky < shape.KernelHeight && used != ulong.MaxValue; ky++)
            {
                for (int kx = 0; kx < shape.KernelWidth; kx++)
                {
                    used |= 1UL << ((ky * shape.DilationHeight % sh * sw) + (kx * shape.DilationWidth % sw));
                }
            }

            return new(wq, virtualPositions, panels, Math.Max(hq * wq, (panels * nr) + reach), used);
        }

        /// <summary>Whether some tap reads phase plane <paramref name="phase"/> (only those are staged).</summary>
        public bool Reads(int phase) => UsedPhases == ulong.MaxValue || ((UsedPhases >> phase) & 1) != 0;

        /// <summary>The staged planes per channel: one per phase some tap reads (all of them beyond 64 phases).</summary>
        public int StagedPlanes(int phases) => UsedPhases == ulong.MaxValue ? phases : System.Numerics.BitOperations.PopCount(UsedPhases);

        /// <summary>Where phase plane <paramref name="phase"/> (one that some tap reads) is staged among a channel's planes.</summary>
        public int Slot(int phase) => UsedPhases == ulong.MaxValue ? phase : System.Numerics.BitOperations.PopCount(UsedPhases & ((1UL << phase) - 1));

        /// <summary>
        /// Tap t = ky·KW + kx as a cell of a channel's staged planes: its phase plane's slot · Cells plus its shift. K row
        /// (channel, tap) of panel p is then NR cells from the channel's staged planes + this + p·NR.
        /// </summary>
        public int TapCell(Conv2dShape shape, int t)
        {
            var (phase, offset) = Tap(shape, t / shape.KernelWidth, t % shape.KernelWidth);
            return (Slot(phase) * Cells) + offset;
        }

        /// <summary>Tap (ky, kx): its phase plane and its shift inside the plane.</summary>
        public (int Phase, int Offset) Tap(Conv2dShape shape, int ky, int kx)
        {
            int dy = ky * shape.DilationHeight, dx = kx * shape.DilationWidth;
            return (((dy % shape.StrideHeight) * shape.StrideWidth) + (dx % shape.StrideWidth), (dy / shape.StrideHeight * Wq) + (dx / shape.StrideWidth));
        }

        /// <summary>
        /// The runs that stage one channel (FP32) or channel block (int8), the same for every channel: for each input row
        /// and column phase that some tap reads, its first pixel (iy·width + first column), its pixel count (columns
        /// first, first + sw, …) and its first cell among the channel's staged planes (slot · Cells + cell). Rented;
        /// the caller returns the array.
        /// </summary>
        public (int Pixel, int Count, int Cell)[] StagingRuns(Conv2dShape shape, int height, int width, out int count)
        {
            int sh = shape.StrideHeight, sw = shape.StrideWidth;
            var runs = ArrayPool<(int, int, int)>.Shared.Rent(height * sw);
            count = 0;
            for (int iy = 0; iy < height; iy++)
            {
                int r = iy + shape.PadTop;
                for (int pw = 0; pw < sw; pw++)
                {
                    int first = ((pw - shape.PadLeft) % sw + sw) % sw, phase = ((r % sh) * sw) + pw;
                    if (first >= width || !Reads(phase)) continue;
                    runs[count++] = ((iy * width) + first, (width - first + sw - 1) / sw, (Slot(phase) * Cells) + (r / sh * Wq) + ((first + shape.PadLeft) / sw));
                }
            }

            return runs;
        }
    }

    /// <summary>One channel into its phase planes by its staging runs (padding cells stay 0): row copies at stride 1, else a strided split.</summary>
    private static void StagePhases(ReadOnlySpan<(int Pixel, int Count, int Cell)> runs, int sw, ReadOnlySpan<float> plane, Span<float> phases)
    {
        foreach (var (pixel, count, cell) in runs)
        {
            var target = phases.Slice(cell, count);
            if (sw == 1)
            {
                plane.Slice(pixel, count).CopyTo(target);
            }
            else if (sw == 2)
            {
                PhaseStaging.CopyEveryOther(plane.Slice(pixel), target);
            }
            else
            {
                var source = plane.Slice(pixel, ((count - 1) * sw) + 1);
                for (int t = 0; t < count; t++) target[t] = source[t * sw];
            }
        }
    }

    /// <summary>
    /// Int8 forward pass over a batch of uint8 activations, dequantized to float (scale products, bias, clamp). Per image
    /// and group: when a group's channels come in whole KR groups (padded from 3 on), they are staged into phase planes
    /// of KR-channel cells that the GEMM reads in place (<see cref="RunInt8PhasePlanes"/>); otherwise the image is staged
    /// channels-last and the patches packed into the int8 kernel's B layout. The weights are A, and the exact int32
    /// products [Cout/groups, OH·OW] are dequantized row by row into NCHW. Depthwise layers up to 258 taps sum exact
    /// centred integers in floats instead (the depthwise path of the FP32 overload).
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
    public unsafe void Run(ReadOnlySpan<byte> input, int inputZeroPoint, float inputScale, int batch, int height, int width, Span<float> output, OutputClamp activation, int maxDegreeOfParallelism, KernelThreadPool? pool = null)
    {
        CheckInt8(inputZeroPoint, inputScale, maxDegreeOfParallelism);
        fixed (float* target = output)
        {
            RunInt8(input, inputZeroPoint, inputScale, batch, height, width, new Int8Output(target, null, null, output.Length), activation, maxDegreeOfParallelism, pool);
        }
    }

    /// <summary>
    /// Int8 forward pass from uint8 activations to uint8 activations, as ONNX QLinearConv computes it: per output channel
    /// the bias is rounded (half to even) to an int32 at the accumulator scale <c>sx · sw[co]</c> and added to the exact
    /// centred sums, then <c>q = saturate(round_half_to_even((float)(acc + bias) · (sx · sw[co] / sy)) + zy)</c>. The clamp
    /// (ReLU) applies to the codes at its bounds' codes (<c>round(min / sy) + zy</c>, …), which equals quantizing the
    /// clamped real value. The requantization runs per output row while the row's int32 sums are in cache: no float
    /// tensor is written, and the next int8 layer reads the codes without quantizing. The same paths and kernels as the
    /// float-output overload.
    /// </summary>
    /// <param name="input">[batch, InChannels, height, width] uint8 codes.</param>
    /// <param name="inputZeroPoint">The activations' zero point (also the padding value), in [0, 255].</param>
    /// <param name="inputScale">The activations' scale, finite and &gt; 0.</param>
    /// <param name="batch">Images, ≥ 0.</param>
    /// <param name="height">Input height.</param>
    /// <param name="width">Input width.</param>
    /// <param name="output">[batch, OutChannels, OH, OW] uint8 codes.</param>
    /// <param name="outputEncoding">The output's encoding; its range must fit uint8 (narrow ranges saturate to it).</param>
    /// <param name="activation">The clamp fused into the output.</param>
    /// <param name="maxDegreeOfParallelism">Threads for each GEMM (1, −1 for all cores, or a limit).</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    /// <exception cref="InvalidOperationException">The convolution has FP32 weights.</exception>
    /// <exception cref="ArgumentException">A length does not match the shape, or the output encoding does not fit uint8.</exception>
    public unsafe void Run(ReadOnlySpan<byte> input, int inputZeroPoint, float inputScale, int batch, int height, int width, Span<byte> output, QuantParams outputEncoding,
        OutputClamp activation, int maxDegreeOfParallelism, KernelThreadPool? pool = null)
    {
        CheckInt8(inputZeroPoint, inputScale, maxDegreeOfParallelism);
        if (outputEncoding.QMin < 0 || outputEncoding.QMax > 255)
            throw new ArgumentException($"The output encoding must fit uint8, not [{outputEncoding.QMin}, {outputEncoding.QMax}].", nameof(outputEncoding));
        // The stage of the last call is kept: a layer in a pipeline is called with the same encodings every time.
        var stage = _codeStage;
        if (stage is null || !stage.Serves(inputScale, outputEncoding, activation))
        {
            _codeStage = stage = CodeStage.Of(_int8!, _bias, inputScale, outputEncoding, activation);
        }

        fixed (byte* target = output)
        {
            RunInt8(input, inputZeroPoint, inputScale, batch, height, width, new Int8Output(null, target, stage, output.Length), activation, maxDegreeOfParallelism, pool);
        }
    }

    private void CheckInt8(int inputZeroPoint, float inputScale, int maxDegreeOfParallelism)
    {
        if (_int8 is null) throw new InvalidOperationException("This convolution has FP32 weights; pass float input.");
        if (inputZeroPoint is < 0 or > 255) throw new ArgumentOutOfRangeException(nameof(inputZeroPoint), inputZeroPoint, "The zero point must lie in [0, 255].");
        QuantParams.ValidateScale(inputScale, nameof(inputScale));
        Parallelism.Validate(maxDegreeOfParallelism);
    }

    private unsafe void RunInt8(ReadOnlySpan<byte> input, int inputZeroPoint, float inputScale, int batch, int height, int width, Int8Output output, OutputClamp activation,
        int maxDegreeOfParallelism, KernelThreadPool? pool)
    {
        var (oh, ow, _, coutG) = Check(input.Length, batch, height, width, output.Length);
        var path = IsaConfig.Best.Int8Gemm;
        var tile = Int8GemmTile.Of(path);
        int cgp = _int8!.Channels, k = Shape.KernelHeight * Shape.KernelWidth * cgp;   // the GEMM's K, padded channels included
        if (Shape.InChannels == Shape.Groups && Shape.KernelHeight * Shape.KernelWidth <= DepthwiseExactTaps)
        {
            RunDepthwise(input, inputZeroPoint, inputScale, batch, height, width, output, activation, maxDegreeOfParallelism, pool, IsaConfig.Best.Elementwise);
            return;
        }

        // Channels in whole KR groups: the GEMM reads its panels straight from the staged phase planes (nothing packed).
        if (cgp % tile.KR == 0)
        {
            RunInt8PhasePlanes(input, inputZeroPoint, inputScale, batch, height, width, output, activation, maxDegreeOfParallelism, pool, path, tile);
            return;
        }

        // Otherwise (a group's 1 or 2 channels on a layout with KR = 4 or 2) the channels-last image's patches are packed.
        int positions = oh * ow, channels = Shape.InChannels, panelBytes = tile.PaddedK(k) * tile.NR * tile.BBytes;
        int dataLength = ((positions + tile.NR - 1) / tile.NR) * panelBytes;
        byte[] nhwc = ArrayPool<byte>.Shared.Rent(height * width * Shape.Groups * cgp);
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
                for (int c = 0; c < channels; c++)
                {
                    var plane = image.Slice(c * height * width, height * width);
                    for (int p = 0; p < plane.Length; p++) nhwc[p * channels + c] = plane[p];
                }

                for (int g = 0; g < Shape.Groups; g++)
                {
                    Array.Clear(data, 0, dataLength);
                    PackInt8Patches(nhwc, height, width, g, (byte)inputZeroPoint, tile, shifted, data, columnSums);
                    MultiplyAndDequantize(path, k, positions, ow, data, panelBytes, default(PackedRows), panelBytes, columnSums, zeroPoints, g, coutG, accumulators, null, patchZeroPoint, inputScale,
                        activation, output, (long)b * Shape.OutChannels * positions, oh, ow, maxDegreeOfParallelism, pool);
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
    /// Int8 layers whose channels come in whole KR groups, over phase planes: each group of KR channels is staged once
    /// with its padding, split by stride into sh·sw phase planes (padded pixel (r, col) to plane (r mod sh, col mod sw)
    /// at (r / sh, col / sw); one plane at stride 1) each Wq = ⌈Wp / sw⌉ wide, of KR-element cells (the layout's bytes, shifted by −128, or int16),
    /// padding cells holding the zero point in every channel (as the general path packs them); the GEMM runs over OH·Wq
    /// virtual positions, and K group (ky, kx, channel group) of panel p is read in place: NR cells of its phase plane
    /// from p·NR + ⌊ky·dh / sh⌋·Wq + ⌊kx·dw / sw⌋ (a table of group offsets, <see cref="ShiftedRows"/>). Column sums are
    /// the same shifted sums of per-cell channel sums. The values and sums of every kept position equal the general
    /// path's, so the int32 products are identical.
    /// </summary>
    private void RunInt8PhasePlanes(ReadOnlySpan<byte> input, int inputZeroPoint, float inputScale, int batch, int height, int width, Int8Output output,
        OutputClamp activation, int maxDegreeOfParallelism, KernelThreadPool? pool, Int8GemmPath path, Int8GemmTile tile)
    {
        var (oh, ow, _, coutG) = Check(input.Length, batch, height, width, output.Length);
        int cg = Shape.InChannels / Shape.Groups, cgp = _int8!.Channels, kr = tile.KR, nr = tile.NR, es = tile.BBytes, blocks = cgp / kr;
        int taps = Shape.KernelHeight * Shape.KernelWidth, k = taps * cgp;
        var geometry = PhaseGeometry.Of(Shape, height, width, nr);
        int pixels = height * width;
        int wq = geometry.Wq, virtualPositions = geometry.VirtualPositions, panels = geometry.Panels, cells = geometry.Cells;
        int stagedPlanes = geometry.StagedPlanes(Shape.StrideHeight * Shape.StrideWidth), laneBytes = kr * es, blockStride = stagedPlanes * cells * laneBytes;
        int groupBytes = nr * laneBytes;
        bool shifted = !tile.WideB;
        int patchZeroPoint = shifted ? inputZeroPoint - 128 : inputZeroPoint, shift = shifted ? 128 : 0;
        byte[] staged = ArrayPool<byte>.Shared.Rent(blocks * blockStride);
        int[] cellSums = ArrayPool<int>.Shared.Rent(stagedPlanes * cells);
        var runs = geometry.StagingRuns(Shape, height, width, out int runCount);
        int[] pixelSums = ArrayPool<int>.Shared.Rent(pixels);
        nint[] groupOffsets = ArrayPool<nint>.Shared.Rent(taps * blocks);
        int[] columnSums = ArrayPool<int>.Shared.Rent(panels * nr);
        int[] zeroPoints = ArrayPool<int>.Shared.Rent(panels * nr);
        int[] accumulators = ArrayPool<int>.Shared.Rent(coutG * virtualPositions);
        float[] rowBuffer = ArrayPool<float>.Shared.Rent(virtualPositions);
        try
        {
            // K group (tap, channel block): NR cells of the block's staged planes from the tap's cell; panel p adds p·NR cells.
            for (int t = 0; t < taps; t++)
            {
                for (int cb = 0; cb < blocks; cb++)
                {
                    groupOffsets[(t * blocks) + cb] = ((nint)cb * blockStride) + ((nint)geometry.TapCell(Shape, t) * laneBytes);
                }
            }

            Array.Clear(zeroPoints, 0, panels * nr);

            // Staging: padding everywhere once (the zero point in every channel, as stored, and its cell sum); each image
            // and group then overwrites the same image cells, whole.
            var stagedSpan = staged.AsSpan(0, blocks * blockStride);
            if (shifted) stagedSpan.Fill((byte)(inputZeroPoint ^ 0x80));
            else System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(stagedSpan).Fill((short)inputZeroPoint);
            cellSums.AsSpan(0, stagedPlanes * cells).Fill(inputZeroPoint * cgp);
            int imageLength = Shape.InChannels * pixels;
            for (int b = 0; b < batch; b++)
            {
                var image = input.Slice(b * imageLength, imageLength);
                for (int g = 0; g < Shape.Groups; g++)
                {
                    Array.Clear(pixelSums, 0, pixels);
                    for (int c = 0; c < cg; c++)
                    {
                        AddPlane(image.Slice(((g * cg) + c) * pixels, pixels), pixelSums.AsSpan(0, pixels));
                    }

                    int sw = Shape.StrideWidth;
                    foreach (var (pixel, count, cell) in runs.AsSpan(0, runCount))
                    {
                        for (int i = 0; i < count; i++)
                        {
                            cellSums[cell + i] = pixelSums[pixel + (i * sw)];
                        }

                        for (int cb = 0; cb < blocks; cb++)
                        {
                            StageRow(image, (g * cg) + (cb * kr), Math.Min(kr, cg - (cb * kr)), kr, pixels, pixel, sw, count, shifted,
                                staged.AsSpan((cb * blockStride) + (cell * laneBytes)));
                        }
                    }

                    // Column sums: per tap, the shifted sums of its phase plane's cells.
                    for (int t = 0; t < taps; t++)
                    {
                        var sums = columnSums.AsSpan(0, virtualPositions);
                        var tapSums = cellSums.AsSpan(geometry.TapCell(Shape, t), virtualPositions);
                        if (t == 0) tapSums.CopyTo(sums);
                        else System.Numerics.Tensors.TensorPrimitives.Add(sums, tapSums, sums);
                    }

                    System.Numerics.Tensors.TensorPrimitives.Subtract(columnSums.AsSpan(0, virtualPositions), shift * k, columnSums.AsSpan(0, virtualPositions));
                    unsafe
                    {
                        fixed (nint* offsets = groupOffsets)
                        {
                            MultiplyAndDequantize(path, k, virtualPositions, wq, staged, groupBytes, new ShiftedRows(offsets), (long)blocks * stagedPlanes * groupBytes, columnSums,
                                zeroPoints, g, coutG, accumulators, rowBuffer, patchZeroPoint, inputScale, activation,
                                output, (long)b * Shape.OutChannels * oh * ow, oh, ow, maxDegreeOfParallelism, pool);
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(staged);
            ArrayPool<int>.Shared.Return(cellSums);
            ArrayPool<(int, int, int)>.Shared.Return(runs);
            ArrayPool<int>.Shared.Return(pixelSums);
            ArrayPool<nint>.Shared.Return(groupOffsets);
            ArrayPool<int>.Shared.Return(columnSums);
            ArrayPool<int>.Shared.Return(zeroPoints);
            ArrayPool<int>.Shared.Return(accumulators);
            ArrayPool<float>.Shared.Return(rowBuffer);
        }
    }

    /// <summary>
    /// One group's int8 GEMM (weights as A, <paramref name="columns"/> patch columns as B: packed panels, or shifted
    /// phase-plane views through <paramref name="rows"/>) and its dequantization
    /// into one image's NCHW output: output row y of a channel is columns [y·<paramref name="rowStride"/>, … + OW). With
    /// virtual columns (row stride &gt; OW) each channel row is dequantized whole into <paramref name="rowBuffer"/> (at
    /// vector width) and its kept segments copied.
    /// </summary>
    private unsafe void MultiplyAndDequantize<TRows>(Int8GemmPath path, int k, int columns, int rowStride, byte[] data, nint panelStride, TRows rows, long panelBytes,
        int[] columnSums, int[] zeroPoints, int g, int coutG, int[] accumulators, float[]? rowBuffer, int patchZeroPoint, float inputScale, OutputClamp activation,
        Int8Output output, long imageOffset, int oh, int ow, int maxDegreeOfParallelism, KernelThreadPool? pool)
        where TRows : struct, IPanelRows
    {
        var patches = PackedInt8Weights.Wrap(path, k, columns, data, columnSums, zeroPoints);
        var acc = accumulators.AsSpan(0, coutG * columns);
        fixed (byte* panels = data)
        {
            Int8Gemm.RunPanels(_int8!.Rows![g], _int8.ZeroPoint, patches, panels, panelStride, rows, panelBytes, acc, default, default, maxDegreeOfParallelism, pool);
        }

        int positions = oh * ow;
        if (output.Codes is not null)
        {
            RequantizeRows(output, acc, g, coutG, columns, rowStride, patchZeroPoint, oh, ow, imageOffset);
            return;
        }

        bool rowByRow = rowStride != ow && ow >= 2 * System.Numerics.Vector<float>.Count;
        for (int r = 0; r < coutG; r++)
        {
            int co = g * coutG + r;
            long channel = imageOffset + ((long)co * positions);
            int rowTerm = patchZeroPoint * _int8.CentredSums[co];
            float scale = inputScale * _int8.Scales[co];
            if (rowByRow)
            {
                // Wide output rows: each kept segment straight into the output.
                for (int y = 0; y < oh; y++)
                {
                    output.Write(acc.Slice((r * columns) + (y * rowStride), ow), rowTerm, scale, _bias[co], activation, channel + ((long)y * ow));
                }

                continue;
            }

            if (rowStride == ow)
            {
                output.Write(acc.Slice(r * columns, columns), rowTerm, scale, _bias[co], activation, channel);
                continue;
            }

            var row = rowBuffer.AsSpan(0, columns);
            Dequantize(acc.Slice(r * columns, columns), rowTerm, scale, _bias[co], activation, row);
            var target = new Span<float>(output.Floats + channel, positions);
            for (int y = 0; y < oh; y++)
            {
                row.Slice(y * rowStride, ow).CopyTo(target.Slice(y * ow, ow));
            }
        }
    }

    /// <summary>
    /// The uint8 output stage of one group: each output channel's whole run of products (virtual columns included, so
    /// the vector requantization runs over long rows) is requantized, into a row buffer when it has virtual columns,
    /// whose kept segments are then copied.
    /// </summary>
    private unsafe void RequantizeRows(Int8Output output, Span<int> acc, int g, int coutG, int columns, int rowStride, int patchZeroPoint, int oh, int ow, long imageOffset)
    {
        int positions = oh * ow;
        var stage = output.Stage!;
        // Output rows of 16+ codes are written straight from their segments (vector steps, the last one overlapping);
        // shorter ones go through a row buffer over the whole run, then are copied.
        bool segments = rowStride != ow && ow >= 16;
        byte[]? row = rowStride == ow || segments ? null : ArrayPool<byte>.Shared.Rent(columns);
        try
        {
            for (int r = 0; r < coutG; r++)
            {
                int co = g * coutG + r;
                var products = acc.Slice(r * columns, columns);
                int term = (patchZeroPoint * _int8!.CentredSums[co]) - stage.Bias[co];
                var target = new Span<byte>(output.Codes + imageOffset + ((long)co * positions), positions);
                if (segments)
                {
                    for (int y = 0; y < oh; y++)
                    {
                        stage.Requantize(co, products.Slice(y * rowStride, ow), term, target.Slice(y * ow, ow));
                    }

                    continue;
                }

                if (row is null)
                {
                    stage.Requantize(co, products, term, target);
                    continue;
                }

                var codes = row.AsSpan(0, columns);
                stage.Requantize(co, products, term, codes);
                for (int y = 0; y < oh; y++)
                {
                    codes.Slice(y * rowStride, ow).CopyTo(target.Slice(y * ow, ow));
                }
            }
        }
        finally
        {
            if (row is not null) ArrayPool<byte>.Shared.Return(row);
        }
    }

    /// <summary>
    /// Writes <paramref name="n"/> pixels (every <paramref name="step"/>-th from <paramref name="pixel"/>) of KR channels
    /// from <paramref name="channel"/> (the first <paramref name="real"/> of them real, the rest 0) as consecutive cells.
    /// </summary>
    private static void StageRow(ReadOnlySpan<byte> image, int channel, int real, int kr, int pixels, int pixel, int step, int n, bool shifted, Span<byte> target)
    {
        if (shifted)
        {
            PhaseStaging.Interleave(image.Slice((channel * pixels) + pixel), pixels, real, kr, step, 0x80, target.Slice(0, n * kr));
            return;
        }

        // int16 cells (the SSE2 layout).
        var shorts = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(target.Slice(0, n * kr * 2));
        for (int j = 0; j < kr; j++)
        {
            var plane = j < real ? image.Slice(((channel + j) * pixels) + pixel) : default;
            for (int i = 0, s = 0; i < n; i++, s += step)
            {
                shorts[(i * kr) + j] = (short)(j < real ? plane[s] : 0);
            }
        }
    }

    /// <summary>
    /// Packs one group's patches from the channels-last image into the int8 kernel's B layout (<see cref="Int8GemmTile.PanelStart"/>,
    /// <see cref="Int8GemmTile.InPanel"/>): reduction index k = (ky·KW + kx)·Cg + c, position q as column q. Padding holds the
    /// zero point. Also sums each position's column. Only groups of 1 or 2 channels that do not fill a KR group come here
    /// (wider groups are padded to whole KR groups and take the phase planes).
    /// </summary>
    private void PackInt8Patches(byte[] nhwc, int height, int width, int group, byte padding, Int8GemmTile tile, bool shifted, byte[] data, int[] columnSums)
    {
        var (oh, ow) = Shape.OutputSize(height, width);
        int cg = Shape.InChannels / Shape.Groups, channels = Shape.InChannels, kp = tile.PaddedK(Shape.GroupK);
        int nr = tile.NR, kr = tile.KR, shift = shifted ? 128 : 0, k = Shape.GroupK;
        ref byte image = ref nhwc[0];
        ref byte bytes = ref data[0];
        ref short shorts = ref Unsafe.As<byte, short>(ref data[0]);
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

    /// <summary>
    /// output = clamp((float)(acc − rowTerm) · scale + bias), the same operations as the GEMM's float stage; output as
    /// long as acc. The last elements are one more vector ending at the end (they never alias: int32 in, float out).
    /// </summary>
    private static void Dequantize(ReadOnlySpan<int> acc, int rowTerm, float scale, float bias, OutputClamp clamp, Span<float> output)
    {
        int i = 0, n = acc.Length, width = System.Numerics.Vector<float>.Count;
        _ = output[..n];
        if (System.Numerics.Vector.IsHardwareAccelerated && n >= width)
        {
            var s = new System.Numerics.Vector<float>(scale);
            var vb = new System.Numerics.Vector<float>(bias);
            var lo = new System.Numerics.Vector<float>(clamp.Min);
            var hi = new System.Numerics.Vector<float>(clamp.Max);
            var term = new System.Numerics.Vector<int>(rowTerm);
            ref int a = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(acc);
            ref float o = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(output);
            for (; ; i += width)
            {
                if (i + width > n) i = n - width;
                var y = System.Numerics.Vector.ConvertToSingle(System.Numerics.Vector.LoadUnsafe(ref a, (nuint)i) - term) * s + vb;
                y = System.Numerics.Vector.ConditionalSelect(System.Numerics.Vector.LessThan(y, lo), lo, y);
                System.Numerics.Vector.StoreUnsafe(System.Numerics.Vector.ConditionalSelect(System.Numerics.Vector.GreaterThan(y, hi), hi, y), ref o, (nuint)i);
                if (i + width == n) return;
            }
        }
        for (; i < n; i++) output[i] = Math.Clamp((acc[i] - rowTerm) * scale + bias, clamp.Min, clamp.Max);
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
