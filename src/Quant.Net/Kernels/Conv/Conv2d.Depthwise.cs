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
                var work = new DepthwiseFloat(this, plan, source, target, height, width, oh, ow, taps, activation, level);
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
    private unsafe void RunDepthwise(ReadOnlySpan<byte> input, int inputZeroPoint, float inputScale, int batch, int height, int width, Span<float> output,
        OutputClamp activation, int maxDegreeOfParallelism, KernelThreadPool? pool, SimdLevel level)
    {
        var (oh, ow, taps, _) = Check(input.Length, batch, height, width, output.Length);
        var plan = DepthwisePlan.Of(Shape, height, width, level);
        try
        {
            fixed (byte* source = input)
            fixed (float* target = output)
            {
                var work = new DepthwiseInt8(this, plan, source, target, height, width, oh, ow, taps, inputZeroPoint, inputScale, activation, level);
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
            for (int t = 0; t < taps; t++)
            {
                var (phase, offset) = geometry.Tap(shape, t / shape.KernelWidth, t % shape.KernelWidth);
                offsets[t] = ((nint)geometry.Slot(phase) * geometry.Cells) + offset;
            }

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

    private readonly unsafe struct DepthwiseFloat(Conv2d conv, DepthwisePlan plan, float* input, float* output, int height, int width, int oh, int ow, int taps,
        OutputClamp activation, SimdLevel level) : IDepthwiseWork
    {
        public void Run(int start, int end)
        {
            var shape = conv.Shape;
            int groups = shape.Groups, coutG = shape.OutChannels / groups, pixels = height * width, positions = oh * ow, wq = plan.Geometry.Wq;
            float[] staged = ArrayPool<float>.Shared.Rent(plan.ChannelElements);
            float[] sums = ArrayPool<float>.Shared.Rent(plan.Length);
            try
            {
                var offsets = plan.Offsets.AsSpan(0, taps);
                var planes = staged.AsSpan(0, plan.ChannelElements);
                planes.Clear();   // padding cells: every channel overwrites the same image cells only
                for (int pair = start; pair < end; pair++)
                {
                    int b = pair / groups, g = pair % groups;
                    var channel = new ReadOnlySpan<float>(input + ((((long)b * shape.InChannels) + g) * pixels), pixels);
                    StagePhases(plan.Runs.AsSpan(0, plan.RunCount), shape.StrideWidth, channel, planes);
                    for (int r = 0; r < coutG; r++)
                    {
                        int co = (g * coutG) + r;
                        Channel(level, plan, staged, offsets, conv._float.AsSpan(co * taps, taps), sums, oh, ow, 1f, conv._bias[co], activation,
                            output + ((((long)b * shape.OutChannels) + co) * positions));
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(staged);
                ArrayPool<float>.Shared.Return(sums);
            }
        }
    }

    private readonly unsafe struct DepthwiseInt8(Conv2d conv, DepthwisePlan plan, byte* input, float* output, int height, int width, int oh, int ow, int taps,
        int inputZeroPoint, float inputScale, OutputClamp activation, SimdLevel level) : IDepthwiseWork
    {
        public void Run(int start, int end)
        {
            var shape = conv.Shape;
            var q = conv._int8!;
            int groups = shape.Groups, coutG = shape.OutChannels / groups, pixels = height * width, positions = oh * ow, wq = plan.Geometry.Wq;
            float[] staged = ArrayPool<float>.Shared.Rent(plan.ChannelElements);
            float[] sums = ArrayPool<float>.Shared.Rent(plan.Length);
            float[] centred = ArrayPool<float>.Shared.Rent(taps);
            try
            {
                var offsets = plan.Offsets.AsSpan(0, taps);
                var planes = staged.AsSpan(0, plan.ChannelElements);
                planes.Clear();   // padding cells, x − zx = 0: every channel overwrites the same image cells only
                for (int pair = start; pair < end; pair++)
                {
                    int b = pair / groups, g = pair % groups;
                    var channel = new ReadOnlySpan<byte>(input + ((((long)b * shape.InChannels) + g) * pixels), pixels);
                    StageCentred(plan.Runs.AsSpan(0, plan.RunCount), shape.StrideWidth, channel, inputZeroPoint, planes);
                    for (int r = 0; r < coutG; r++)
                    {
                        int co = (g * coutG) + r;
                        for (int t = 0; t < taps; t++) centred[t] = q.Weights[(co * taps) + t] - q.ZeroPoint;

                        // The sums are the exact integers Σ (w − zw)(x − zx) (see DepthwiseExactTaps), so the output stage is the
                        // GEMM path's dequantization, (float)acc · (sx · sw) + bias, clamped.
                        Channel(level, plan, staged, offsets, centred.AsSpan(0, taps), sums, oh, ow, inputScale * q.Scales[co], conv._bias[co], activation,
                            output + ((((long)b * shape.OutChannels) + co) * positions));
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(staged);
                ArrayPool<float>.Shared.Return(sums);
                ArrayPool<float>.Shared.Return(centred);
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

    /// <summary>One uint8 channel into its phase planes as x − zx in floats (exact), by its staging runs.</summary>
    private static void StageCentred(ReadOnlySpan<(int Pixel, int Count, int Cell)> runs, int sw, ReadOnlySpan<byte> plane, int zeroPoint, Span<float> phases)
    {
        foreach (var (pixel, count, cell) in runs)
        {
            PhaseStaging.Centre(plane.Slice(pixel), sw, zeroPoint, phases.Slice(cell, count));
        }
    }
}
