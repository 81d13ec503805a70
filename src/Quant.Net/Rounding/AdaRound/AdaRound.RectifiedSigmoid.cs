using Quant.Net.Simd;
using System.Numerics;
using System.Numerics.Tensors;
using Quant.Net.Kernels;

namespace Quant.Net.Rounding;

public sealed partial class AdaRound
{
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
}
