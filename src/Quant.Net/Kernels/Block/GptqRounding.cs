namespace Quant.Net.Kernels;

/// <summary>
/// GPTQ (Frantar et al., 2023) for block-quantized weights: the columns of W[N, K] are rounded one at a time in K order,
/// and each column's rounding error is pushed onto the columns not yet rounded, weighted by the inverse Hessian of the
/// layer's reconstruction error, H = Σ x·xᵀ over calibration inputs x (so the layer's outputs on that data, not its
/// weights, stay close). Each block's scale (and zero point) is chosen when the rounding reaches the block, from the
/// weights as the earlier errors left them. Uses the upper Cholesky factor of H⁻¹ as GPTQ does, with damping
/// λ = damping · mean(diag H) and dead inputs (H_kk = 0) zeroed.
/// </summary>
internal static class GptqRounding
{
    public static BlockQuantizedWeights Quantize(ReadOnlySpan<float> weights, int n, int k, WeightLayout layout, ReadOnlySpan<double> hessian,
        BlockQuantizationOptions options, double damping)
    {
        var w = new double[(long)n * k];
        for (int row = 0; row < n; row++)
        {
            for (int i = 0; i < k; i++)
            {
                w[((long)row * k) + i] = layout == WeightLayout.NByK ? weights[(row * k) + i] : weights[(i * n) + row];
            }
        }

        var h = hessian.ToArray();
        double mean = 0;
        for (int i = 0; i < k; i++)
        {
            mean += h[(i * k) + i];
        }

        mean /= k;
        for (int i = 0; i < k; i++)
        {
            if (h[(i * k) + i] == 0)
            {
                // An input never active in calibration: its weights cannot matter there, and rounding them to zero is exact.
                h[(i * k) + i] = 1;
                for (int row = 0; row < n; row++)
                {
                    w[((long)row * k) + i] = 0;
                }
            }

            h[(i * k) + i] += damping * Math.Max(mean, double.Epsilon);
        }

        var u = UpperCholeskyOfInverse(h, k);
        var result = BlockQuantizedWeights.Create(n, k, options);
        int qMax = (1 << options.Bits) - 1, middle = 1 << (options.Bits - 1);
        var codes = new byte[(long)n * result.BlockCount * options.BlockSize];
        var scales = new float[n * result.BlockCount];
        var zeroPoints = new int[n * result.BlockCount];
        var block = new float[options.BlockSize];
        var error = new double[n];
        for (int j = 0; j < k; j++)
        {
            int b = j / options.BlockSize;
            if (j % options.BlockSize == 0)
            {
                int length = Math.Min(options.BlockSize, k - j);
                for (int row = 0; row < n; row++)
                {
                    for (int i = 0; i < length; i++)
                    {
                        block[i] = (float)w[((long)row * k) + j + i];
                    }

                    var (scale, zeroPoint) = BlockQuantizedWeights.ChooseBlock(block.AsSpan(0, length), options, qMax, middle);
                    scales[(row * result.BlockCount) + b] = scale;
                    zeroPoints[(row * result.BlockCount) + b] = zeroPoint;
                }
            }

            double pivot = u[((long)j * k) + j];
            for (int row = 0; row < n; row++)
            {
                float scale = scales[(row * result.BlockCount) + b];
                int zeroPoint = zeroPoints[(row * result.BlockCount) + b];
                double value = w[((long)row * k) + j];
                byte code = BlockQuantizedWeights.Code((float)value, scale, zeroPoint, qMax);
                codes[((long)row * result.BlockCount * options.BlockSize) + j] = code;
                error[row] = (value - ((code - zeroPoint) * (double)scale)) / pivot;
            }

            // W[:, j+1..] −= err ⊗ U[j, j+1..]
            var uRow = u.AsSpan((int)(((long)j * k) + j + 1), k - j - 1);
            for (int row = 0; row < n; row++)
            {
                double e = error[row];
                if (e == 0)
                {
                    continue;
                }

                var rest = w.AsSpan((int)(((long)row * k) + j + 1), k - j - 1);
                for (int c = 0; c < rest.Length; c++)
                {
                    rest[c] -= e * uRow[c];
                }
            }
        }

        var blockCodes = new byte[options.BlockSize];
        for (int row = 0; row < n; row++)
        {
            for (int b = 0; b < result.BlockCount; b++)
            {
                int start = b * options.BlockSize, length = Math.Min(options.BlockSize, k - start);
                int zeroPoint = zeroPoints[(row * result.BlockCount) + b];
                for (int i = 0; i < options.BlockSize; i++)
                {
                    blockCodes[i] = i < length ? codes[((long)row * result.BlockCount * options.BlockSize) + start + i] : (byte)zeroPoint;
                }

                result.Store(row, b, blockCodes, scales[(row * result.BlockCount) + b], zeroPoint);
            }
        }

        return result;
    }

    /// <summary>U, upper triangular with H⁻¹ = Uᵀ·U, for a symmetric positive definite H [k, k] (row-major).</summary>
    internal static double[] UpperCholeskyOfInverse(double[] h, int k)
    {
        // H = L·Lᵀ.
        var l = LowerCholesky(h, k, clampPivots: false);

        // L⁻¹ (lower), then H⁻¹ = L⁻ᵀ·L⁻¹.
        var li = new double[(long)k * k];
        for (int j = 0; j < k; j++)
        {
            li[(j * k) + j] = 1 / l[(j * k) + j];
            for (int i = j + 1; i < k; i++)
            {
                double sum = 0;
                for (int p = j; p < i; p++)
                {
                    sum -= l[(i * k) + p] * li[(p * k) + j];
                }

                li[(i * k) + j] = sum / l[(i * k) + i];
            }
        }

        var inverse = new double[(long)k * k];
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double sum = 0;
                for (int p = i; p < k; p++)
                {
                    sum += li[(p * k) + i] * li[(p * k) + j];
                }

                inverse[(i * k) + j] = sum;
                inverse[(j * k) + i] = sum;
            }
        }

        // H⁻¹ = M·Mᵀ (M lower) → U = Mᵀ. (H⁻¹ is positive definite; a pivot lost to rounding is kept positive.)
        var m = LowerCholesky(inverse, k, clampPivots: true);
        var u = new double[(long)k * k];
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                u[(j * k) + i] = m[(i * k) + j];
            }
        }

        return u;
    }

    /// <summary>
    /// L, lower triangular with A = L·Lᵀ. A non-positive pivot is an error naming the input, or, with
    /// <paramref name="clampPivots"/>, the smallest positive double.
    /// </summary>
    private static double[] LowerCholesky(double[] a, int k, bool clampPivots)
    {
        var l = new double[(long)k * k];
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double sum = a[(i * k) + j];
                for (int p = 0; p < j; p++)
                {
                    sum -= l[(i * k) + p] * l[(j * k) + p];
                }

                if (i != j)
                {
                    l[(i * k) + j] = sum / l[(j * k) + j];
                }
                else if (sum > 0 || clampPivots)
                {
                    l[(i * k) + i] = Math.Sqrt(Math.Max(sum, double.Epsilon));
                }
                else
                {
#pragma warning disable CA2208 // names the public caller's parameter (QuantizeGptq's hessian)
                    throw new ArgumentException($"The Hessian is not positive definite at input {i} (even after damping).", "hessian");
#pragma warning restore CA2208
                }
            }
        }

        return l;
    }
}
