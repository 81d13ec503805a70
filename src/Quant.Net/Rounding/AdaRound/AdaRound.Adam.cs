using Quant.Net.Simd;
using System.Numerics;
using System.Numerics.Tensors;
using Quant.Net.Kernels;

namespace Quant.Net.Rounding;

public sealed partial class AdaRound
{
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
}
