using Quant.Net.Simd;
using System.Numerics;
using System.Numerics.Tensors;
using Quant.Net.Kernels;

namespace Quant.Net.Rounding;

public sealed partial class AdaRound
{
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
                    Array.Copy(packedSamples, ((long)sample * _panels * block) + PackedFloatWeights.PanelIndex(_rowsPerSample, _nr, 0, p * _nr), packedX, PackedFloatWeights.PanelIndex(n, _nr, start, p * _nr), block);
                }

                start += _rowsPerSample;
                continue;
            }

            Array.Copy(_inputs, (long)row * _in, x, (long)start * _in, _in);
            for (int p = 0; p < _panels; p++)
            {
                Array.Copy(packedSamples, ((long)sample * _panels * block) + PackedFloatWeights.PanelIndex(_rowsPerSample, _nr, row % _rowsPerSample, p * _nr), packedX, PackedFloatWeights.PanelIndex(n, _nr, start, p * _nr), _nr);
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
        Fp32Gemm.Multiply(dyT, _out, PackedFloatWeights.Wrap(IsaConfig.Best.Elementwise, n, _in, packedX), [], dw, OutputClamp.None, threads);
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
