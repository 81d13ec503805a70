using Quant.Net.Simd;
using System.Buffers;
using System.Runtime.Intrinsics;

namespace Quant.Net.Kernels;

public sealed partial class Conv2d
{
    /// <summary>
    /// One input channel per group (depthwise, with any channel multiplier): a GEMM per group would have one K row per
    /// tap and as many rows of A as output channels per group (one), so instead each (image, group) stages its channel
    /// into phase planes once and every output channel of the group is Σ_t w[t] · (its tap's plane, shifted) over the
    /// OH·Wq virtual positions, four vectors at a time, then its output rows (<see cref="Depthwise4V"/>). Threads take ranges of
    /// (image, group) pairs; each pair is independent, so results do not depend on the split.
    /// </summary>
    private unsafe void RunDepthwise(ReadOnlySpan<float> input, int batch, int height, int width, Span<float> output, OutputClamp activation,
        int maxDegreeOfParallelism, KernelThreadPool? pool, SimdLevel level)
    {
        var (oh, ow, taps, _) = Check(input.Length, batch, height, width, output.Length);
        var plan = DepthwisePlan.Of(Shape, height, width, level);
        try
        {
            fixed (float* source = input)
            fixed (float* target = output)
            {
                var work = new DepthwiseWork<FloatChannels>(this, plan, new FloatChannels(source, _float!), target, height * width, oh, ow, taps, activation, level, null, null);
                RunDepthwisePairs(work, batch, (long)batch * Shape.OutChannels * oh * ow * taps, maxDegreeOfParallelism, pool);
            }
        }
        finally
        {
            plan.Return();
        }
    }

    /// <summary>
    /// The int8 form of the depthwise path: the channel staged as x − zx in floats (padding 0), centred weights, and the
    /// same FMA kernel, whose sums are then the exact integer products (at most <see cref="DepthwiseExactTaps"/> taps),
    /// dequantized as the GEMM path does. Converting once while staging costs less than widening every tap's bytes.
    /// </summary>
    private unsafe void RunDepthwise(ReadOnlySpan<byte> input, int inputZeroPoint, float inputScale, int batch, int height, int width, Int8Output output,
        OutputClamp activation, int maxDegreeOfParallelism, KernelThreadPool? pool, SimdLevel level)
    {
        var (oh, ow, taps, _) = Check(input.Length, batch, height, width, output.Length);
        var plan = DepthwisePlan.Of(Shape, height, width, level);
        try
        {
            fixed (byte* source = input)
            {
                var work = new DepthwiseWork<CodeChannels>(this, plan, new CodeChannels(source, _int8!, inputZeroPoint, inputScale), output.Floats, height * width, oh, ow, taps,
                    activation, level, output.Codes, output.Stage);
                RunDepthwisePairs(work, batch, (long)batch * Shape.OutChannels * oh * ow * taps, maxDegreeOfParallelism, pool);
            }
        }
        finally
        {
            plan.Return();
        }
    }

    private void RunDepthwisePairs<TWork>(TWork work, int batch, long multiplyAdds, int maxDegreeOfParallelism, KernelThreadPool? pool)
        where TWork : struct, IDepthwiseWork
    {
        int pairs = batch * Shape.Groups;
        int threads = Parallelism.Threads(maxDegreeOfParallelism, multiplyAdds, pairs);
        if (threads == 1) work.Run(0, pairs);
        else (pool ?? KernelThreadPool.Shared).ForEachRange(pairs, threads, (start, end) => work.Run(start, end));
    }

    /// <summary>
    /// What every (image, group) pair shares: the phase geometry, the virtual positions rounded up to whole kernel steps
    /// (Length), the staged size of one channel, each tap's offset in it and the staging runs.
    /// </summary>
    private sealed class DepthwisePlan
    {
        public required PhaseGeometry Geometry { get; init; }
        public required int Length { get; init; }
        public required int ChannelElements { get; init; }
        public required nint[] Offsets { get; init; }
        public required (int Pixel, int Count, int Cell)[] Runs { get; init; }
        public required int RunCount { get; init; }

        public static DepthwisePlan Of(Conv2dShape shape, int height, int width, SimdLevel level)
        {
            int step = Depthwise4V.Step(level);
            var geometry = PhaseGeometry.Of(shape, height, width, step);
            int taps = shape.KernelHeight * shape.KernelWidth;
            var offsets = ArrayPool<nint>.Shared.Rent(taps);
            for (int t = 0; t < taps; t++) offsets[t] = geometry.TapCell(shape, t);

            var runs = geometry.StagingRuns(shape, height, width, out int runCount);
            return new DepthwisePlan
            {
                Geometry = geometry,
                Length = geometry.Panels * step,
                ChannelElements = geometry.StagedPlanes(shape.StrideHeight * shape.StrideWidth) * geometry.Cells,
                Offsets = offsets,
                Runs = runs,
                RunCount = runCount,
            };
        }

        public void Return()
        {
            ArrayPool<nint>.Shared.Return(Offsets);
            ArrayPool<(int, int, int)>.Shared.Return(Runs);
        }
    }

    private interface IDepthwiseWork
    {
        /// <summary>Computes the (image, group) pairs [start, end).</summary>
        void Run(int start, int end);
    }

    /// <summary>What distinguishes the FP32 and int8 depthwise paths: how a channel is staged, and each output channel's weights and scale.</summary>
    private interface IDepthwiseChannels
    {
        /// <summary>Stages input channel <paramref name="channel"/> (of all images) into its phase planes by the staging runs.</summary>
        void Stage(long channel, int pixels, ReadOnlySpan<(int Pixel, int Count, int Cell)> runs, int sw, Span<float> planes);

        /// <summary>Output channel <paramref name="co"/>'s tap weights (written into <paramref name="buffer"/> if converted) and the scale of its sums.</summary>
        ReadOnlySpan<float> Weights(int co, int taps, Span<float> buffer, out float scale);
    }

    /// <summary>FP32: channels copied as they are, weights as they are, scale 1.</summary>
    private readonly unsafe struct FloatChannels(float* input, float[] weights) : IDepthwiseChannels
    {
        public void Stage(long channel, int pixels, ReadOnlySpan<(int Pixel, int Count, int Cell)> runs, int sw, Span<float> planes) =>
            StagePhases(runs, sw, new ReadOnlySpan<float>(input + (channel * pixels), pixels), planes);

        public ReadOnlySpan<float> Weights(int co, int taps, Span<float> buffer, out float scale)
        {
            scale = 1f;
            return weights.AsSpan(co * taps, taps);
        }
    }

    /// <summary>
    /// Int8: channels staged as x − zx in floats, weights centred (w − zw), so the sums are the exact integers
    /// Σ (w − zw)(x − zx) (see <see cref="DepthwiseExactTaps"/>) and the output stage is the GEMM path's dequantization,
    /// (float)acc · (sx · sw) + bias, clamped.
    /// </summary>
    private readonly unsafe struct CodeChannels(byte* input, Int8ConvWeights weights, int zeroPoint, float inputScale) : IDepthwiseChannels
    {
        public void Stage(long channel, int pixels, ReadOnlySpan<(int Pixel, int Count, int Cell)> runs, int sw, Span<float> planes)
        {
            var plane = new ReadOnlySpan<byte>(input + (channel * pixels), pixels);
            foreach (var (pixel, count, cell) in runs)
            {
                PhaseStaging.Centre(plane.Slice(pixel), sw, zeroPoint, planes.Slice(cell, count));
            }
        }

        public ReadOnlySpan<float> Weights(int co, int taps, Span<float> buffer, out float scale)
        {
            for (int t = 0; t < taps; t++) buffer[t] = weights.Weights[(co * taps) + t] - weights.ZeroPoint;
            scale = inputScale * weights.Scales[co];
            return buffer[..taps];
        }
    }

    /// <summary>
    /// (image, group) pairs: each stages its channel once (padding cleared once per range), then every output channel of
    /// the group. With <paramref name="codes"/> (int8 only) a channel's exact sums go to a scratch row first and are
    /// requantized from there (<see cref="CodeStage"/>).
    /// </summary>
    private readonly unsafe struct DepthwiseWork<TChannels>(Conv2d conv, DepthwisePlan plan, TChannels channels, float* output, int pixels, int oh, int ow, int taps,
        OutputClamp activation, SimdLevel level, byte* codes, CodeStage? stage) : IDepthwiseWork
        where TChannels : struct, IDepthwiseChannels
    {
        public void Run(int start, int end)
        {
            var shape = conv.Shape;
            int groups = shape.Groups, coutG = shape.OutChannels / groups, positions = oh * ow;
            float[] staged = ArrayPool<float>.Shared.Rent(plan.ChannelElements);
            float[] sums = ArrayPool<float>.Shared.Rent(plan.Length);
            float[] buffer = ArrayPool<float>.Shared.Rent(taps);
            float[]? sumRow = codes is null ? null : ArrayPool<float>.Shared.Rent(positions);
            int[]? intRow = codes is null ? null : ArrayPool<int>.Shared.Rent(positions);
            try
            {
                var offsets = plan.Offsets.AsSpan(0, taps);
                var planes = staged.AsSpan(0, plan.ChannelElements);
                planes.Clear();   // padding cells (0, or x − zx = 0): every channel overwrites the same image cells only
                for (int pair = start; pair < end; pair++)
                {
                    int b = pair / groups, g = pair % groups;
                    channels.Stage(((long)b * shape.InChannels) + g, pixels, plan.Runs.AsSpan(0, plan.RunCount), shape.StrideWidth, planes);
                    for (int r = 0; r < coutG; r++)
                    {
                        int co = (g * coutG) + r;
                        var weights = channels.Weights(co, taps, buffer, out float scale);
                        long offset = (((long)b * shape.OutChannels) + co) * positions;
                        if (codes is null)
                        {
                            Channel(level, plan, staged, offsets, weights, sums, oh, ow, scale, conv._bias[co], activation, output + offset);
                            continue;
                        }

                        // The exact integer sums (scale 1, no bias, no clamp), then the bias as an integer and the codes.
                        fixed (float* row = sumRow)
                        {
                            Channel(level, plan, staged, offsets, weights, sums, oh, ow, 1f, 0f, OutputClamp.None, row);
                        }

                        var exact = intRow.AsSpan(0, positions);
                        System.Numerics.Tensors.TensorPrimitives.ConvertToInteger(sumRow.AsSpan(0, positions), exact);
                        stage!.Requantize(co, exact, -stage.Bias[co], new Span<byte>(codes + offset, positions));
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(staged);
                ArrayPool<float>.Shared.Return(sums);
                ArrayPool<float>.Shared.Return(buffer);
                if (sumRow is not null) ArrayPool<float>.Shared.Return(sumRow);
                if (intRow is not null) ArrayPool<int>.Shared.Return(intRow);
            }
        }
    }

    /// <summary>
    /// The largest depthwise kernel (taps) whose int8 sums stay exact in FP32: |w − zw| ≤ 255 and |x − zx| ≤ 255, so every
    /// partial sum is an integer of magnitude ≤ 258 · 65025 ≤ 2^24. Larger kernels take the int8 GEMM path.
    /// </summary>
    internal const int DepthwiseExactTaps = 258;

    /// <summary>One output channel from its group's staged planes (see <see cref="Depthwise4V"/>).</summary>
    private static unsafe void Channel(SimdLevel level, DepthwisePlan plan, float[] staged, ReadOnlySpan<nint> offsets, ReadOnlySpan<float> weights, float[] sums,
        int oh, int ow, float scale, float bias, OutputClamp clamp, float* output)
    {
        ref float p = ref staged[0];
        ref float s = ref sums[0];
        ref float o = ref *output;
        int wq = plan.Geometry.Wq, length = plan.Length;
        switch (level)
        {
            case SimdLevel.Vector512:
                Depthwise4V.Channel<Simd512, Vector512<float>, Vector512<int>>(ref p, offsets, weights, length, ref s, wq, oh, ow, scale, bias, clamp.Min, clamp.Max, ref o);
                break;
            case SimdLevel.Vector256:
                Depthwise4V.Channel<Simd256, Vector256<float>, Vector256<int>>(ref p, offsets, weights, length, ref s, wq, oh, ow, scale, bias, clamp.Min, clamp.Max, ref o);
                break;
            case SimdLevel.Vector128:
                Depthwise4V.Channel<Simd128, Vector128<float>, Vector128<int>>(ref p, offsets, weights, length, ref s, wq, oh, ow, scale, bias, clamp.Min, clamp.Max, ref o);
                break;
            default:
                Depthwise4V.ChannelScalar(ref p, offsets, weights, length, ref s, wq, oh, ow, scale, bias, clamp.Min, clamp.Max, ref o);
                break;
        }
    }
}
