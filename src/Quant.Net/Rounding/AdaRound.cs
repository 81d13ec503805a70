using Quant.Net.Simd;
using System.Numerics;
using System.Numerics.Tensors;
using Quant.Net.Kernels;

namespace Quant.Net.Rounding;

/// <summary>
/// AdaRound (Nagel et al., 2020) for one layer written as y = f(x·W̃ᵀ + b), W [out, in] (a convolution as its patch
/// matrix): learns for each weight whether to round down or up, minimizing ‖f(W̃x) − target‖² plus
/// λ·Σ(1 − |2h(V) − 1|^β) with h the rectified sigmoid (ζ = 1.1, γ = −0.1), β annealed from 20 to 2 after a warm start,
/// Adam on V. Gradients are in closed form; the GEMMs are <see cref="Fp32Gemm"/>.
/// </summary>
public sealed class AdaRound
{
    private const float Zeta = 1.1f, Gamma = -0.1f;
    private readonly int _out, _in, _rows, _rowsPerSample;
    private readonly float[] _floor, _scale, _bias;
    private readonly float[] _inputs, _targets;
    private readonly int _qMin, _qMax;
    private readonly int[] _zeroPoints;
    private readonly bool _relu;
    private readonly int _nr, _panels;
    private float[]? _packedSamples;

    /// <summary>Prepares the optimization of one layer.</summary>
    /// <param name="weights">W [out, in], row-major.</param>
    /// <param name="outFeatures">Output channels.</param>
    /// <param name="inFeatures">Inputs per output (for a convolution: in channels / groups × kernel height × width).</param>
    /// <param name="bias">out biases, or empty.</param>
    /// <param name="encoding">Per-tensor or per-channel (axis 0) encoding of W; its scales stay fixed.</param>
    /// <param name="inputs">Layer inputs [rows, in], from the model with earlier layers already quantized.</param>
    /// <param name="targets">FP32 layer outputs [rows, out] (after the fused ReLU when <paramref name="relu"/>).</param>
    /// <param name="rowsPerSample">Rows that form one sample (1 for a linear layer; output positions for a convolution).</param>
    /// <param name="relu">Reconstruct after a fused ReLU.</param>
    /// <exception cref="ArgumentException">Lengths do not match the shapes, or the encoding is not per-tensor/per-channel on axis 0.</exception>
    public AdaRound(ReadOnlySpan<float> weights, int outFeatures, int inFeatures, ReadOnlySpan<float> bias, QuantEncoding encoding,
        float[] inputs, float[] targets, int rowsPerSample = 1, bool relu = false)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsPerSample, 1);
        if (weights.Length != (long)outFeatures * inFeatures)
        {
            throw new ArgumentException($"Expected {outFeatures} × {inFeatures} weights, got {weights.Length}.", nameof(weights));
        }

        if (bias.Length != 0 && bias.Length != outFeatures)
        {
            throw new ArgumentException($"bias must be empty or hold {outFeatures} values.", nameof(bias));
        }

        var g = encoding.Scheme.Granularity;
        bool perChannel = g.Kind == QuantGranularityKind.PerChannel && (g.Axis == 0 || g.Axis == -2) && encoding.Count == outFeatures;
        if (!(g.Kind == QuantGranularityKind.PerTensor || perChannel))
        {
            throw new ArgumentException("AdaRound needs a per-tensor or per-output-channel (axis 0) weight encoding.", nameof(encoding));
        }

        if (inputs.Length % inFeatures != 0 || inputs.Length / inFeatures * (long)outFeatures != targets.Length || inputs.Length == 0)
        {
            throw new ArgumentException($"inputs [rows, {inFeatures}] and targets [rows, {outFeatures}] must have the same number of rows.", nameof(targets));
        }

        _rows = inputs.Length / inFeatures;
        if (_rows % rowsPerSample != 0)
        {
            throw new ArgumentException($"{_rows} rows are not a whole number of samples of {rowsPerSample} rows.", nameof(rowsPerSample));
        }

        (_out, _in, _rowsPerSample, _relu, _inputs, _targets) = (outFeatures, inFeatures, rowsPerSample, relu, inputs, targets);
        _bias = bias.IsEmpty ? new float[outFeatures] : bias.ToArray();
        (_qMin, _qMax) = (encoding.Scheme.QMin, encoding.Scheme.QMax);
        _scale = new float[outFeatures];
        _zeroPoints = new int[outFeatures];
        _floor = new float[weights.Length];
        Rest = new float[weights.Length];
        for (int o = 0; o < outFeatures; o++)
        {
            var p = encoding[perChannel ? o : 0];
            _scale[o] = p.Scale;
            _zeroPoints[o] = p.ZeroPoint;
            for (int i = 0; i < inFeatures; i++)
            {
                float v = weights[(o * inFeatures) + i] / p.Scale;
                float f = MathF.Floor(v);
                _floor[(o * inFeatures) + i] = f;
                Rest[(o * inFeatures) + i] = v - f;
            }
        }

        _nr = Fp32Gemm.PanelWidth(SimdConfig.Best);
        _panels = (_in + _nr - 1) / _nr;
    }

    /// <summary>
    /// Every sample's input rows packed once as GEMM B panels ([sample][panel][row][NR]), so a mini-batch's packed Xᵀ for
    /// the weight gradient is a few block copies instead of an element-by-element repack per iteration.
    /// </summary>
    private float[] PackedSamples()
    {
        if (_packedSamples is not null)
        {
            return _packedSamples;
        }

        int block = _rowsPerSample * _nr;
        var packed = new float[(long)Samples * _panels * block];
        for (int sample = 0; sample < Samples; sample++)
        {
            for (int r = 0; r < _rowsPerSample; r++)
            {
                long row = ((long)sample * _rowsPerSample) + r;
                for (int i = 0; i < _in; i++)
                {
                    int panel = i / _nr;
                    packed[((((long)sample * _panels) + panel) * block) + (r * _nr) + (i % _nr)] = _inputs[(row * _in) + i];
                }
            }
        }

        return _packedSamples = packed;
    }

    /// <summary>Fractional parts of W / scale (the starting point of h(V)).</summary>
    internal float[] Rest { get; }

    internal int Samples => _rows / _rowsPerSample;

    /// <summary>V such that h(V) equals the fractional part of W / scale (AIMET's initialization).</summary>
    internal float[] InitialV()
    {
        var v = new float[Rest.Length];
        for (int i = 0; i < v.Length; i++)
        {
            float r = Math.Clamp(Rest[i], 0.01f, 0.99f);
            v[i] = -MathF.Log(((Zeta - Gamma) / (r - Gamma)) - 1f);
        }

        return v;
    }

    internal static float H(float v) => Math.Clamp((Sigmoid(v) * (Zeta - Gamma)) + Gamma, 0f, 1f);

    private static float Sigmoid(float v) => 1f / (1f + MathF.Exp(-v));

    /// <summary>Runs the optimization.</summary>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public AdaRoundResult Optimize(AdaRoundOptions? options = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        options ??= new AdaRoundOptions();
        options.Validate();
        var v = InitialV();
        var m = new float[v.Length];
        var s = new float[v.Length];
        var grad = new float[v.Length];
        var random = new Random(options.Seed);
        int batchSamples = Math.Min(options.BatchSize, Samples);
        int drawn = Math.Min(options.RowsPerSample ?? _rowsPerSample, _rowsPerSample);
        var batch = new int[batchSamples * drawn];
        int warm = (int)(options.Iterations * options.WarmStart);
        const float Beta1 = 0.9f, Beta2 = 0.999f;
        for (int t = 0; t < options.Iterations; t++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (int b = 0; b < batchSamples; b++)
            {
                int sample = random.Next(Samples);
                for (int r = 0; r < drawn; r++)
                {
                    batch[(b * drawn) + r] = (sample * _rowsPerSample) + (drawn == _rowsPerSample ? r : random.Next(_rowsPerSample));
                }
            }

            float beta = 0f, lambda = 0f;
            if (t >= warm)
            {
                double progressRatio = (double)(t - warm) / Math.Max(1, options.Iterations - warm);
                beta = (float)(options.BetaEnd + (0.5 * (options.BetaStart - options.BetaEnd) * (1 + Math.Cos(progressRatio * Math.PI))));
                lambda = options.RegularizationWeight;
            }

            LossAndGradient(v, batch, beta, lambda, grad, options.MaxDegreeOfParallelism, computeLoss: false);
            float correction1 = 1f - MathF.Pow(Beta1, t + 1), correction2 = 1f - MathF.Pow(Beta2, t + 1);
            AdamStep(v, m, s, grad, options.LearningRate / correction1, 1f / correction2);

            if ((t + 1) % 100 == 0 || t + 1 == options.Iterations)
            {
                progress?.Report(t + 1);
            }
        }

        var hard = new float[v.Length];
        int changed = 0;
        for (int i = 0; i < v.Length; i++)
        {
            hard[i] = H(v[i]) >= 0.5f ? 1f : 0f;
            changed += hard[i] != (Rest[i] >= 0.5f ? 1f : 0f) ? 1 : 0;
        }

        var codes = Codes(hard);
        var rounded = Dequantize(codes);
        var nearest = Dequantize(Codes([.. Rest.Select(r => MathF.Round(r, MidpointRounding.ToEven))]));
        return new AdaRoundResult(codes, rounded, ReconstructionMse(nearest, options.MaxDegreeOfParallelism), ReconstructionMse(rounded, options.MaxDegreeOfParallelism), changed);
    }

    private int[] Codes(float[] up)
    {
        var codes = new int[up.Length];
        for (int i = 0; i < up.Length; i++)
        {
            codes[i] = (int)Math.Clamp(_floor[i] + up[i] + _zeroPoints[i / _in], _qMin, _qMax);
        }

        return codes;
    }

    private float[] Dequantize(int[] codes)
    {
        var w = new float[codes.Length];
        for (int i = 0; i < codes.Length; i++)
        {
            int o = i / _in;
            w[i] = (codes[i] - _zeroPoints[o]) * _scale[o];
        }

        return w;
    }

    /// <summary>Mean squared error of f(X·Wᵀ + b) against the targets over every row.</summary>
    public double ReconstructionMse(ReadOnlySpan<float> weights, int maxDegreeOfParallelism = 1)
    {
        var packed = PackedFloatWeights.Pack(weights, _in, _out, WeightLayout.NByK);
        var y = new float[_rows * _out];
        Fp32Gemm.Multiply(_inputs, _rows, packed, _bias, y, _relu ? OutputClamp.Relu : OutputClamp.None, maxDegreeOfParallelism);
        double sum = 0;
        for (int i = 0; i < y.Length; i++)
        {
            double d = y[i] - _targets[i];
            sum += d * d;
        }

        return sum / y.Length;
    }

    /// <summary>Adam: m ← β1·m + (1 − β1)·g, s ← β2·s + (1 − β2)·g², v ← v − (lr/c1)·m / (√(s/c2) + ε).</summary>
    private static void AdamStep(float[] v, float[] m, float[] s, float[] grad, float rate, float inverseCorrection2)
    {
        const float Beta1 = 0.9f, Beta2 = 0.999f, Epsilon = 1e-8f;
        int lanes = Vector<float>.Count, i = 0;
        var b1 = new Vector<float>(Beta1);
        var b2 = new Vector<float>(Beta2);
        var c1 = new Vector<float>(1 - Beta1);
        var c2 = new Vector<float>(1 - Beta2);
        var r = new Vector<float>(rate);
        var ic2 = new Vector<float>(inverseCorrection2);
        var eps = new Vector<float>(Epsilon);
        for (; i + lanes <= v.Length; i += lanes)
        {
            var g = new Vector<float>(grad, i);
            var mi = (b1 * new Vector<float>(m, i)) + (c1 * g);
            var si = (b2 * new Vector<float>(s, i)) + (c2 * g * g);
            mi.CopyTo(m, i);
            si.CopyTo(s, i);
            (new Vector<float>(v, i) - (r * mi / (Vector.SquareRoot(si * ic2) + eps))).CopyTo(v, i);
        }

        for (; i < v.Length; i++)
        {
            m[i] = (Beta1 * m[i]) + ((1 - Beta1) * grad[i]);
            s[i] = (Beta2 * s[i]) + ((1 - Beta2) * grad[i] * grad[i]);
            v[i] -= rate * m[i] / (MathF.Sqrt(s[i] * inverseCorrection2) + Epsilon);
        }
    }

    /// <summary>
    /// Loss of V on the given rows (global row indices) and its gradient: the reconstruction error as AIMET defines it (squared error summed
    /// over output channels, averaged over rows) plus λ·Σ(1 − |2h − 1|^β) (λ = 0 during the warm start).
    /// </summary>
    internal double LossAndGradient(float[] v, int[] rows, float beta, float lambda, float[] grad, int threads, bool computeLoss = true)
    {
        int n = rows.Length, block = _rowsPerSample * _nr;
        var w = Buffer(ref _w, v.Length);
        var dwdv = Buffer(ref _dwdv, v.Length);
        var u = Buffer(ref _u, v.Length);
        var dh = Buffer(ref _dh, v.Length);
        SoftWeights(v, w, dwdv, u, dh);
        double regularizer = 0;
        if (lambda > 0)
        {
            // d/dh (1 − |2h − 1|^β) = −2β·|u|^(β−1)·sign(u) = −2β·u·|u|^(β−2), u = 2h − 1: one power per weight.
            var q = Buffer(ref _q, v.Length);
            TensorPrimitives.Abs(u, q);
            if (beta > 2f)
            {
                TensorPrimitives.Pow(q, beta - 2f, q);
            }
            else if (beta == 2f)
            {
                q.AsSpan().Fill(1f);
            }
            else
            {
                // A negative exponent (β annealed below 2 by the caller's choice): |u|^(β−2) is infinite at u = 0,
                // where the term's gradient is 0.
                for (int i = 0; i < q.Length; i++)
                {
                    q[i] = q[i] == 0 ? 0f : MathF.Pow(q[i], beta - 2f);
                }
            }

            if (computeLoss)
            {
                for (int i = 0; i < v.Length; i++)
                {
                    regularizer += 1 - ((double)u[i] * u[i] * q[i]);
                }
            }

            TensorPrimitives.Multiply(u, q, grad);
            TensorPrimitives.Multiply(grad, dh, grad);
            TensorPrimitives.Multiply(grad, -2f * beta * lambda, grad);
        }
        else
        {
            Array.Clear(grad);
        }

        var x = Buffer(ref _x, n * _in);
        var packedSamples = PackedSamples();
        var packedX = Buffer(ref _packedX, _panels * n * _nr);
        for (int start = 0; start < n;)
        {
            int row = rows[start], sample = row / _rowsPerSample;
            bool wholeSample = row % _rowsPerSample == 0 && start + _rowsPerSample <= n && rows[start + _rowsPerSample - 1] == row + _rowsPerSample - 1;
            if (wholeSample)
            {
                // A whole sample in order: one block copy per panel.
                Array.Copy(_inputs, (long)row * _in, x, (long)start * _in, _rowsPerSample * _in);
                for (int p = 0; p < _panels; p++)
                {
                    Array.Copy(packedSamples, (((long)sample * _panels) + p) * block, packedX, ((long)p * n * _nr) + ((long)start * _nr), block);
                }

                start += _rowsPerSample;
                continue;
            }

            Array.Copy(_inputs, (long)row * _in, x, (long)start * _in, _in);
            for (int p = 0; p < _panels; p++)
            {
                Array.Copy(packedSamples, ((((long)sample * _panels) + p) * block) + ((row % _rowsPerSample) * _nr), packedX, ((long)p * n * _nr) + ((long)start * _nr), _nr);
            }

            start++;
        }

        var y = Buffer(ref _y, n * _out);
        Fp32Gemm.Multiply(x, n, PackedFloatWeights.Pack(w, _in, _out, WeightLayout.NByK), _bias, y, OutputClamp.None, threads);
        double reconstruction = 0;
        var dyT = Buffer(ref _dyT, _out * n);
        float norm = 2f / n;
        for (int r = 0; r < n; r++)
        {
            long targetRow = rows[r];
            for (int o = 0; o < _out; o++)
            {
                float pre = y[(r * _out) + o], a = _relu ? Math.Max(pre, 0f) : pre;
                float d = a - _targets[(targetRow * _out) + o];
                reconstruction += (double)d * d;
                dyT[(o * n) + r] = _relu && pre <= 0 ? 0f : norm * d;
            }
        }

        // dL/dW = dYᵀ · X: [out, n] × [n, in], X already packed as the GEMM's B panels.
        var dw = Buffer(ref _dw, _out * _in);
        Fp32Gemm.Multiply(dyT, _out, PackedFloatWeights.Wrap(SimdConfig.Best, n, _in, packedX), [], dw, OutputClamp.None, threads);
        TensorPrimitives.MultiplyAdd(dw, dwdv, grad, grad);
        return (reconstruction / n) + (lambda * regularizer);
    }

    /// <summary>
    /// The soft-quantized weights W̃(V) = (clamp(⌊W/s⌋ + h(V) + z) − z)·s, ∂W̃/∂V (0 where the code saturates or h is
    /// flat), u = 2h − 1 and ∂h/∂V, per output row with its scale and zero point; σ(V) in one vectorized pass.
    /// </summary>
    private void SoftWeights(float[] v, float[] w, float[] dwdv, float[] u, float[] dh)
    {
        var sig = Buffer(ref _sig, v.Length);
        TensorPrimitives.Sigmoid(v, sig);
        int lanes = Vector<float>.Count;
        var span = new Vector<float>(Zeta - Gamma);
        var gamma = new Vector<float>(Gamma);
        var one = Vector<float>.One;
        var qMin = new Vector<float>(_qMin);
        var qMax = new Vector<float>(_qMax);
        for (int o = 0; o < _out; o++)
        {
            float zScalar = _zeroPoints[o], sScalar = _scale[o];
            var z = new Vector<float>(zScalar);
            var scale = new Vector<float>(sScalar);
            int start = o * _in, end = start + _in, i = start;
            for (; i + lanes <= end; i += lanes)
            {
                var sg = new Vector<float>(sig, i);
                var raw = (sg * span) + gamma;
                var h = Vector.Min(Vector.Max(raw, Vector<float>.Zero), one);
                var code = new Vector<float>(_floor, i) + h + z;
                var clamped = Vector.Min(Vector.Max(code, qMin), qMax);
                (scale * (clamped - z)).CopyTo(w, i);
                var slope = Vector.ConditionalSelect(Vector.GreaterThan(raw, Vector<float>.Zero) & Vector.LessThan(raw, one), span * sg * (one - sg), Vector<float>.Zero);
                slope.CopyTo(dh, i);
                Vector.ConditionalSelect(Vector.Equals(clamped, code), scale * slope, Vector<float>.Zero).CopyTo(dwdv, i);
                ((h + h) - one).CopyTo(u, i);
            }

            for (; i < end; i++)
            {
                float sg = sig[i], raw = (sg * (Zeta - Gamma)) + Gamma, h = Math.Clamp(raw, 0f, 1f);
                float code = _floor[i] + h + zScalar, clamped = Math.Clamp(code, _qMin, _qMax);
                w[i] = (clamped - zScalar) * sScalar;
                dh[i] = raw is > 0f and < 1f ? (Zeta - Gamma) * sg * (1 - sg) : 0f;
                dwdv[i] = clamped == code ? sScalar * dh[i] : 0f;
                u[i] = (2 * h) - 1;
            }
        }
    }

    private float[]? _w, _dwdv, _x, _packedX, _y, _dyT, _dw, _u, _dh, _q, _sig;

    private static float[] Buffer(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length != length)
        {
            buffer = new float[length];
        }

        return buffer;
    }
}
