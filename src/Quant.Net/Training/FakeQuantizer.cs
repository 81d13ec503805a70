using Quant.Net.Simd;
using System.Runtime.Intrinsics;
using Quant.Net.Observers;

namespace Quant.Net.Training;

/// <summary>
/// Fake quantization for quantization-aware training over spans: forward <c>y = (clamp(round(x / s) + ẑ, qmin, qmax) − ẑ)·s</c>
/// (ẑ the zero point rounded to an integer, exactly <see cref="QuantOps.FakeQuantize(ReadOnlySpan{float}, Span{float}, QuantParams)"/>),
/// backward with the straight-through estimator (∂y/∂x = 1 inside the range, 0 outside) and, while learning, gradients for
/// the encoding parameters, accumulated until <see cref="ZeroGradients"/>. Per-tensor, per-channel or per-block as the
/// scheme says. The caller's optimizer updates <see cref="Parameters"/> from <see cref="Gradients"/>.
/// </summary>
public sealed class FakeQuantizer
{
    private readonly IObserver _observer;
    private float[] _a = [], _b = [];
    private float[] _ga = [], _gb = [];

    /// <summary>Creates a quantizer in the observing phase.</summary>
    /// <param name="scheme">Bits, signedness, symmetry, granularity.</param>
    /// <param name="learning">What the learning phase learns.</param>
    /// <param name="observer">Range estimation for the observing phase (default: moving-average min/max, per channel when the scheme is).</param>
    public FakeQuantizer(QuantScheme scheme, RangeLearning learning = RangeLearning.Lsq, IObserver? observer = null)
    {
        Scheme = scheme;
        Learning = learning;
        int? axis = scheme.Granularity.Kind == QuantGranularityKind.PerChannel ? scheme.Granularity.Axis : null;
        _observer = observer ?? new MovingAverageMinMaxObserver(channelAxis: axis);
    }

    /// <summary>The quantization scheme.</summary>
    public QuantScheme Scheme { get; }

    /// <summary>What is learned in the learning phase.</summary>
    public RangeLearning Learning { get; }

    /// <summary>The current phase.</summary>
    public FakeQuantizerPhase Phase { get; private set; } = FakeQuantizerPhase.Observing;

    /// <summary>
    /// Training mode (the default), as PyTorch's <c>module.train()</c>: forward passes in the observing phase update the
    /// range and backward passes in the learning phase accumulate parameter gradients. False is evaluation mode
    /// (<c>module.eval()</c>): the encoding is used as it stands, so validation or test data never moves the ranges.
    /// </summary>
    public bool IsTraining { get; set; } = true;

    /// <summary>
    /// The learned parameters, two per scale: LSQ → <see cref="QuantizerParameters.Scale"/> and
    /// <see cref="QuantizerParameters.ZeroPoint"/> (a float); MinMax → <see cref="QuantizerParameters.Min"/> and
    /// <see cref="QuantizerParameters.Max"/>. Symmetric schemes keep the zero point fixed (its gradient stays 0). Empty
    /// until <see cref="StartLearning"/>; the arrays are live (an optimizer writes into them).
    /// </summary>
    public QuantizerParameters Parameters => new(Learning, _a, _b);

    /// <summary>Accumulated gradients of <see cref="Parameters"/>, named and ordered alike.</summary>
    public QuantizerParameters Gradients => new(Learning, _ga, _gb);

    /// <summary>Ends observing: parameters start from the observed ranges.</summary>
    /// <exception cref="InvalidOperationException">Nothing was observed yet.</exception>
    public void StartLearning()
    {
        if (_observer.FiniteCount == 0)
        {
            throw new InvalidOperationException("The quantizer has observed no data; run forward passes in the observing phase first.");
        }

        var encoding = _observer.ComputeEncoding(Scheme);
        int n = encoding.Count;
        _a = new float[n];
        _b = new float[n];
        _ga = new float[n];
        _gb = new float[n];
        for (int i = 0; i < n; i++)
        {
            var p = encoding[i];
            (_a[i], _b[i]) = Learning == RangeLearning.MinMax ? (p.RepresentableMin, p.RepresentableMax) : (p.Scale, p.ZeroPoint);
        }

        Phase = FakeQuantizerPhase.Learning;
    }

    /// <summary>Fixes the encoding; later backward passes give input gradients only.</summary>
    public void Freeze()
    {
        if (Phase == FakeQuantizerPhase.Observing)
        {
            StartLearning();
        }

        Phase = FakeQuantizerPhase.Frozen;
    }

    /// <summary>Sets the accumulated parameter gradients to zero.</summary>
    public void ZeroGradients()
    {
        Array.Clear(_ga);
        Array.Clear(_gb);
    }

    /// <summary>The current encoding (from the observer while observing).</summary>
    public QuantEncoding ToEncoding()
    {
        if (Phase == FakeQuantizerPhase.Observing)
        {
            return _observer.ComputeEncoding(Scheme);
        }

        var scales = new float[_a.Length];
        var zeroPoints = new int[_a.Length];
        for (int i = 0; i < scales.Length; i++)
        {
            var (s, z) = ScaleAndZero(i);
            scales[i] = s;
            zeroPoints[i] = RoundedZero(z);
        }

        return new QuantEncoding(Scheme, scales, zeroPoints);
    }

    private int Middle => Scheme.IsSigned ? 0 : 1 << (Scheme.BitWidth - 1);

    /// <summary>Scale and (float) zero point of parameter <paramref name="i"/>.</summary>
    private (float Scale, float Zero) ScaleAndZero(int i)
    {
        if (Learning != RangeLearning.MinMax)
        {
            return (Math.Max(Math.Abs(_a[i]), QuantParams.MinScale), Scheme.IsSymmetric ? Middle : _b[i]);
        }

        float min = Math.Min(_a[i], 0f), max = Math.Max(_b[i], 0f);
        if (Scheme.IsSymmetric)
        {
            float absMax = Math.Max(-min, max);
            return (Math.Max(absMax / ((Scheme.QMax - Scheme.QMin) / 2), QuantParams.MinScale), Middle);
        }

        float scale = Math.Max((max - min) / (Scheme.QMax - Scheme.QMin), QuantParams.MinScale);
        return (scale, Scheme.QMin - (min / scale));
    }

    private int RoundedZero(float z) => (int)Math.Clamp(MathF.Round(z, MidpointRounding.ToEven), Scheme.QMin, Scheme.QMax);

    /// <summary>Fake-quantizes <paramref name="x"/> (observing first, in the observing phase while <see cref="IsTraining"/>).</summary>
    /// <exception cref="ArgumentException">Lengths differ or the shape does not fit the scheme's granularity.</exception>
    /// <exception cref="InvalidOperationException">Evaluation mode before anything was observed.</exception>
    public void Forward(ReadOnlySpan<float> x, ReadOnlySpan<int> shape, Span<float> y)
    {
        if (x.Length != y.Length)
        {
            throw new ArgumentException($"x has {x.Length} values, y {y.Length}.", nameof(y));
        }

        if (Phase == FakeQuantizerPhase.Observing)
        {
            if (IsTraining)
            {
                _observer.Observe(x, shape);
            }
            else if (_observer.FiniteCount == 0)
            {
                throw new InvalidOperationException("The quantizer is in evaluation mode and has observed no data; run training forward passes first (IsTraining = true).");
            }

            QuantOps.FakeQuantize(x, shape, _observer.ComputeEncoding(Scheme), y);
            return;
        }

        QuantOps.FakeQuantize(x, shape, ToEncoding(), y);
    }

    /// <summary>
    /// Straight-through backward: dx = dy inside the range, 0 where the value saturated; in the learning phase also
    /// accumulates the parameter gradients (LSQ: ∂y/∂s = round(x/s) − x/s inside, qmin/qmax − ẑ outside; ∂y/∂z = −s
    /// outside; both scaled by 1/√(N·Q_P). MinMax: through s(min, max) and z(min, max)) while <see cref="IsTraining"/>.
    /// </summary>
    /// <param name="x">The forward input.</param>
    /// <param name="shape">Its shape.</param>
    /// <param name="dy">The gradient of the output.</param>
    /// <param name="dx">Receives the input gradient; empty when it is not wanted (a first layer's input): only the parameter gradients are accumulated.</param>
    /// <exception cref="ArgumentException">Lengths differ or the shape does not fit the scheme's granularity.</exception>
    public void Backward(ReadOnlySpan<float> x, ReadOnlySpan<int> shape, ReadOnlySpan<float> dy, Span<float> dx)
    {
        if (dx.IsEmpty && x.Length > 0)
        {
            if (x.Length != dy.Length)
            {
                throw new ArgumentException($"x and dy must have the same length ({x.Length}, {dy.Length}).", nameof(dy));
            }

            var scratch = System.Buffers.ArrayPool<float>.Shared.Rent(x.Length);
            try
            {
                Backward(x, shape, dy, scratch.AsSpan(0, x.Length), IsaConfig.Best.Elementwise);
            }
            finally
            {
                System.Buffers.ArrayPool<float>.Shared.Return(scratch);
            }

            return;
        }

        Backward(x, shape, dy, dx, IsaConfig.Best.Elementwise);
    }

    /// <summary>As the public overload at a given vector width (tests run every width against the scalar path).</summary>
    internal void Backward(ReadOnlySpan<float> x, ReadOnlySpan<int> shape, ReadOnlySpan<float> dy, Span<float> dx, SimdLevel level)
    {
        if (x.Length != dy.Length || x.Length != dx.Length)
        {
            throw new ArgumentException($"x, dy and dx must have the same length ({x.Length}, {dy.Length}, {dx.Length}).", nameof(dx));
        }

        var encoding = ToEncoding();
        var layout = TensorLayout.Create(shape, x.Length, Scheme.Granularity, nameof(shape));
        bool learn = IsTraining && Phase == FakeQuantizerPhase.Learning && Learning != RangeLearning.None;
        var counts = new long[encoding.Count];
        var gs = new double[encoding.Count];
        var gz = new double[encoding.Count];
        unsafe
        {
            fixed (float* px = x, pdy = dy, pdx = dx)
            {
                var run = new BackwardRun(px, pdy, pdx, encoding, learn, counts, gs, gz, level);
                layout.ForEachRun(ref run);
            }
        }

        if (!learn)
        {
            return;
        }

        for (int p = 0; p < encoding.Count; p++)
        {
            var (s, z) = ScaleAndZero(p);
            double dScale = gs[p], dZero = Scheme.IsSymmetric ? 0 : gz[p];
            if (Learning == RangeLearning.Lsq)
            {
                double g = 1.0 / Math.Sqrt(Math.Max(1, counts[p]) * Math.Max(1, Scheme.QMax));
                _ga[p] += (float)(dScale * g * Math.Sign(_a[p] == 0 ? 1 : _a[p]));
                _gb[p] += (float)(dZero * g);
                continue;
            }

            int levels = Scheme.QMax - Scheme.QMin;
            if (Scheme.IsSymmetric)
            {
                // s = max(|min|, max) / half: the larger side gets the whole gradient.
                double dAbs = dScale / ((Scheme.QMax - Scheme.QMin) / 2);
                if (-_a[p] > _b[p])
                {
                    _ga[p] -= (float)dAbs;
                }
                else
                {
                    _gb[p] += (float)dAbs;
                }

                continue;
            }

            // s = (max − min) / L, z = qmin − min / s.
            float min = Math.Min(_a[p], 0f);
            double dsdMin = -1.0 / levels, dsdMax = 1.0 / levels;
            double dzdMin = (-1.0 / s) + (min / ((double)s * s) * dsdMin), dzdMax = min / ((double)s * s) * dsdMax;
            _ga[p] += (float)((dScale * dsdMin) + (dZero * dzdMin));
            _gb[p] += (float)((dScale * dsdMax) + (dZero * dzdMax));
        }
    }

    /// <summary>
    /// One run of elements sharing (or, for a varying run, stepping through) encoding parameters: vectorized for shared
    /// parameters, scalar per element otherwise. Accumulates counts and the raw ∂L/∂s, ∂L/∂ẑ sums per parameter.
    /// </summary>
    /// <remarks>
    /// The sums of a shared run are the same bits at every vector width and on the scalar path: element i of the run
    /// adds into virtual lane i mod 16 with one fused multiply-add (∂L/∂s) or one add (Σ dy outside), in element order,
    /// whichever path takes it (a 16-wide vector holds all lanes, an 8-wide one half of them, the scalar path one), and
    /// the 16 lanes are reduced in a fixed order at the end. The quotient in ∂y/∂s is the division x / s on every path.
    /// So training runs give the same weights on AVX-512, AVX2, SSE, AdvSimd and scalar hosts.
    /// </remarks>
    private readonly unsafe struct BackwardRun(float* x, float* dy, float* dx, QuantEncoding encoding, bool learn, long[] counts, double[] gs, double[] gz, SimdLevel level) : IRunAction
    {
        /// <summary>Virtual lanes of the shared-run sums: the widest vector's float count.</summary>
        private const int SumLanes = 16;

        public void Run(int offset, int length, int parameterIndex, bool varying)
        {
            if (varying)
            {
                for (int i = 0; i < length; i++)
                {
                    Element(offset + i, parameterIndex + i);
                }

                return;
            }

            var q = encoding[parameterIndex];
            float s = q.Scale, zero = q.ZeroPoint;
            counts[parameterIndex] += length;

            // Only the codes near the range need the division's exact rounding: beyond R + 1 in |x/s| every element
            // saturates on its side whichever way the product rounds. The product's error is below |x/s|·2^-23, so a
            // product farther than (R + 2)·2^-21 from a rounding tie rounds as the quotient does.
            float reach = Math.Max(Math.Abs(q.QMin - zero), Math.Abs(q.QMax - zero)) + 2f;
            float tieGuard = 0.5f - (reach / (1 << 21));
            float* laneScale = stackalloc float[SumLanes];
            float* laneOutside = stackalloc float[SumLanes];
            new Span<float>(laneScale, SumLanes).Clear();
            new Span<float>(laneOutside, SumLanes).Clear();
            var lanes = new Lanes(laneScale, laneOutside);
            int i0 = 0;
            int width = level switch { SimdLevel.Vector512 => 16, SimdLevel.Vector256 => 8, SimdLevel.Vector128 => 4, _ => int.MaxValue };
            if (width != int.MaxValue)
            {
                // The vector loop stops at a vector holding a NaN, which the element path takes (keeping it out of
                // the parameter sums), and resumes after it: no call inside the loop, so nothing spills.
                while ((i0 = RunVectors(level, offset, length, i0, q, tieGuard, lanes)) + width <= length)
                {
                    for (int end = i0 + width; i0 < end; i0++)
                    {
                        SharedElement(offset + i0, q, lanes, i0 % SumLanes);
                    }
                }
            }

            for (; i0 < length; i0++)
            {
                SharedElement(offset + i0, q, lanes, i0 % SumLanes);
            }

            if (learn)
            {
                double sumScale = 0, sumOutside = 0;
                for (int j = 0; j < SumLanes; j++)
                {
                    sumScale += laneScale[j];
                    sumOutside += laneOutside[j];
                }

                gs[parameterIndex] += sumScale;
                gz[parameterIndex] += sumOutside * -s;
            }
        }

        private int RunVectors(SimdLevel level, int offset, int length, int start, QuantParams q, float tieGuard, Lanes lanes) => level switch
        {
            SimdLevel.Vector512 => Run<Simd512, Vector512<float>, Vector512<int>>(offset, length, start, q, tieGuard, lanes),
            SimdLevel.Vector256 => Run<Simd256, Vector256<float>, Vector256<int>>(offset, length, start, q, tieGuard, lanes),
            _ => Run<Simd128, Vector128<float>, Vector128<int>>(offset, length, start, q, tieGuard, lanes),
        };

        /// <summary>
        /// The shared-parameter loop from <paramref name="start"/> (a multiple of the vector width), one source for every
        /// width: returns where it stopped (the end, or a vector holding a NaN). The vector at run index i adds into the
        /// virtual lanes i mod 16 onwards.
        /// </summary>
        private int Run<TV, TF, TI>(int offset, int length, int start, QuantParams q, float tieGuard, Lanes lanes)
            where TV : ISimd<TF, TI>
            where TF : struct
            where TI : struct
        {
            float* px = x + offset, pdy = dy + offset, pdx = dx + offset;
            var vs = TV.Splat(q.Scale);
            var vinv = TV.Splat(1f / q.Scale);
            var vguard = TV.Splat(tieGuard);
            // Clamping the rounded quotient to [qmin − ẑ, qmax − ẑ] (exact integers) leaves it unchanged exactly inside.
            var vlo = TV.Splat(q.QMin - q.ZeroPoint);
            var vhi = TV.Splat(q.QMax - q.ZeroPoint);
            bool accumulate = learn;
            int width = TV.Count, i = start;
            for (; i + width <= length; i += width)
            {
                var vx = TV.Load(ref px[i]);
                var vdy = TV.Load(ref pdy[i]);
                // x·(1/s) instead of the division; where that product lies within the guard of a rounding tie, the
                // division decides, so the masks are exactly the forward's.
                var u = TV.Multiply(vx, vinv);
                var r = TV.Round(u);
                if (TV.AnyGreaterThan(TV.Abs(TV.Subtract(u, r)), vguard))
                {
                    u = TV.Divide(vx, vs);
                    r = TV.Round(u);
                }

                if (!TV.AllEqual(r, r))
                {
                    break;
                }

                var clamped = TV.MinNative(TV.MaxNative(r, vlo), vhi);
                var inside = TV.EqualMask(clamped, r);
                var vdx = TV.AndBits(vdy, inside);
                TV.Store(vdx, ref pdx[i]);
                if (accumulate)
                {
                    // ∂y/∂s: r − x/s inside, bound − ẑ outside, i.e. clamped − (x/s where inside); ∂y/∂ẑ needs Σ dy outside.
                    int lane = i % SumLanes;
                    var quotient = TV.Divide(vx, vs);
                    TV.Store(TV.MultiplyAdd(vdy, TV.Subtract(clamped, TV.AndBits(quotient, inside)), TV.Load(ref lanes.Scale[lane])), ref lanes.Scale[lane]);
                    TV.Store(TV.Add(TV.Load(ref lanes.Outside[lane]), TV.Subtract(vdy, vdx)), ref lanes.Outside[lane]);
                }
            }

            return i;
        }

        /// <summary>
        /// One element of a shared run on the element path, with exactly the vector loop's operations: its input gradient
        /// and its additions to virtual lane <paramref name="lane"/> (none for a NaN).
        /// </summary>
        private void SharedElement(int i, QuantParams q, Lanes lanes, int lane)
        {
            float u = x[i] / q.Scale, r = MathF.Round(u, MidpointRounding.ToEven);
            if (float.IsNaN(r))
            {
                dx[i] = 0f;
                return;
            }

            float clamped = Math.Min(Math.Max(r, q.QMin - q.ZeroPoint), q.QMax - q.ZeroPoint);
            bool inside = clamped == r;
            float g = inside ? dy[i] : 0f;
            dx[i] = g;
            if (learn)
            {
                lanes.Scale[lane] = MathF.FusedMultiplyAdd(dy[i], clamped - (inside ? u : 0f), lanes.Scale[lane]);
                lanes.Outside[lane] += dy[i] - g;
            }
        }

        /// <summary>The 16 virtual lanes of the two sums of one shared run (stack memory of the run).</summary>
        private readonly struct Lanes(float* scale, float* outside)
        {
            public readonly float* Scale = scale;
            public readonly float* Outside = outside;
        }

        private void Element(int i, int p)
        {
            var q = encoding[p];
            float s = q.Scale;
            float u = x[i] / s, r = MathF.Round(u, MidpointRounding.ToEven);
            float code = r + q.ZeroPoint;
            counts[p]++;

            if (code < q.QMin || code > q.QMax || float.IsNaN(code))
            {
                dx[i] = 0f;
                if (learn && !float.IsNaN(code))
                {
                    int bound = code > q.QMax ? q.QMax : q.QMin;
                    gs[p] += dy[i] * (bound - q.ZeroPoint);
                    gz[p] += dy[i] * -s;
                }
            }
            else
            {
                dx[i] = dy[i];
                if (learn)
                {
                    gs[p] += dy[i] * (r - u);
                }
            }
        }
    }
}
