using System.Runtime.Intrinsics;

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
    /// <summary>Columns per lazy batch (GPTQ's 128).</summary>
    private const int BatchColumns = 128;

    /// <summary>Rows (columns) of L (L⁻¹) computed together so each finished row of L is read once per group.</summary>
    private const int Group = 16;

    /// <summary>Columns per tile of the batch-end update: 128 batch rows of U × 512 doubles = 512 KiB.</summary>
    private const int TileColumns = 512;

    /// <param name="weights">W in <paramref name="layout"/>.</param>
    /// <param name="n">Output features.</param>
    /// <param name="k">Input features.</param>
    /// <param name="layout">[N, K] or [K, N].</param>
    /// <param name="hessian">H [K, K].</param>
    /// <param name="options">Bits, block size, symmetry, scale type, block range rounding.</param>
    /// <param name="damping">Fraction of mean(diag H) added to its diagonal.</param>
    /// <param name="progress">Receives the work done (the factorization, then the columns; in multiply-adds estimated from k and n).</param>
    /// <param name="cancellationToken">Checked where progress is counted: every group of rows of the factorization, every column.</param>
    /// <param name="time">The clock of the progress reports (the system's when null).</param>
    public static BlockQuantizedWeights Quantize(ReadOnlySpan<float> weights, int n, int k, WeightLayout layout, ReadOnlySpan<double> hessian,
        BlockQuantizationOptions options, double damping, IProgress<WorkProgress>? progress = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        int batch = Math.Max(BatchColumns, options.BlockSize);
        var work = new Work(n, k, batch);
        var reporter = new ThrottledProgress(progress, work.Total, cancellationToken, time);
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

        var u = UpperCholeskyOfInverse(h, k, reporter);
        var result = BlockQuantizedWeights.Create(n, k, options);
        int qMax = (1 << options.Bits) - 1, middle = 1 << (options.Bits - 1);
        var codes = new byte[(long)n * result.BlockCount * options.BlockSize];
        var scales = new float[n * result.BlockCount];
        var zeroPoints = new int[n * result.BlockCount];
        var block = new float[options.BlockSize];

        // Lazy batches (GPTQ's): inside a batch of columns each error updates the batch's later columns at once; the
        // columns after the batch get all of the batch's errors in one pass at its end, so W is streamed once per batch
        // instead of once per column. Batches hold whole blocks, so a block's columns are current when its range is chosen.
        long done = work.Factorization;
        var errors = new double[(long)n * batch];
        for (int b0 = 0; b0 < k; b0 += batch)
        {
            int b1 = Math.Min(k, b0 + batch);
            for (int j = b0; j < b1; j++)
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
                var uRow = u.AsSpan((int)(((long)j * k) + j + 1), b1 - j - 1);
                for (int row = 0; row < n; row++)
                {
                    float scale = scales[(row * result.BlockCount) + b];
                    int zeroPoint = zeroPoints[(row * result.BlockCount) + b];
                    double value = w[((long)row * k) + j];
                    byte code = BlockQuantizedWeights.Code((float)value, scale, zeroPoint, qMax);
                    codes[((long)row * result.BlockCount * options.BlockSize) + j] = code;
                    double e = (value - ((code - zeroPoint) * (double)scale)) / pivot;
                    errors[((long)row * batch) + (j - b0)] = e;
                    if (e != 0)
                    {
                        // W[row, j+1..b1) −= e · U[j, j+1..b1)
                        Axpy(-e, uRow, w.AsSpan((int)(((long)row * k) + j + 1), b1 - j - 1));
                    }
                }

                done += (long)n * (b1 - j);
                reporter.Step(done);
            }

            if (b1 < k)
            {
                // W[:, b1..] −= E[:, b0..b1) · U[b0..b1, b1..], in column tiles that keep U's rows in cache; rows in parallel.
                int width = b1 - b0;
                Parallel.For(0, n, row =>
                {
                    var rowErrors = errors.AsSpan((int)((long)row * batch), width);
                    for (int c0 = b1; c0 < k; c0 += TileColumns)
                    {
                        int c1 = Math.Min(k, c0 + TileColumns);
                        var target = w.AsSpan((int)(((long)row * k) + c0), c1 - c0);
                        for (int t = 0; t < width; t++)
                        {
                            if (rowErrors[t] != 0)
                            {
                                Axpy(-rowErrors[t], u.AsSpan((int)(((long)(b0 + t) * k) + c0), c1 - c0), target);
                            }
                        }
                    }
                });
                done += (long)n * (b1 - b0) * (k - b1);
                reporter.Step(done);
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

        reporter.Complete();
        return result;
    }

    /// <summary>
    /// The work of one run in multiply-adds, for progress: the Cholesky factor (k³/3 in all, i³/3 after row i), its
    /// inverse (k³/6 in all, k³/6 − (k − j)³/6 after column j), then per column the updates inside its batch
    /// (n·(b1 − j)) and per batch the update of the columns after it (n·width·(k − b1)).
    /// </summary>
    internal readonly struct Work
    {
        public Work(int n, int k, int batch)
        {
            long columns = 0;
            for (int b0 = 0; b0 < k; b0 += batch)
            {
                int b1 = Math.Min(k, b0 + batch);
                for (int j = b0; j < b1; j++)
                {
                    columns += (long)n * (b1 - j);
                }

                columns += (long)n * (b1 - b0) * (k - b1);
            }

            Factorization = Inverse(k, k);
            Total = Factorization + columns;
        }

        /// <summary>The Cholesky factor and its inverse.</summary>
        public long Factorization { get; }

        public long Total { get; }

        /// <summary>Work done when rows [0, <paramref name="i"/>) of the factor are final.</summary>
        public static long Cholesky(long i) => i * i * i / 3;

        /// <summary>Work done when the inverse's columns [0, <paramref name="j"/>) are final, after the whole factor.</summary>
        public static long Inverse(long j, long k) => Cholesky(k) + (((k * k * k) - ((k - j) * (k - j) * (k - j))) / 6);
    }

    /// <summary>
    /// U, upper triangular with H⁻¹ = Uᵀ·U, for a symmetric positive definite H [k, k] (row-major), without forming H⁻¹:
    /// with P the order-reversing permutation and P·H·P = L·Lᵀ, H⁻¹ = (P·L⁻ᵀ·P)·(P·L⁻¹·P), and P·L⁻¹·P is upper
    /// triangular with a positive diagonal, so it is the factor (unique).
    /// </summary>
    internal static double[] UpperCholeskyOfInverse(double[] h, int k, ThrottledProgress? reporter = null)
    {
        var reversed = new double[(long)k * k];
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j < k; j++)
            {
                reversed[((long)i * k) + j] = h[((long)(k - 1 - i) * k) + (k - 1 - j)];
            }
        }

        var l = LowerCholesky(reversed, k, reporter);

        // L⁻¹ by forward substitution, a group of columns at a time so that each row of L is read once per group;
        // written reversed into U.
        var u = new double[(long)k * k];
        var x = new double[Group * k];
        for (int j0 = 0; j0 < k; j0 += Group)
        {
            int count = Math.Min(Group, k - j0);
            reporter?.Step(Work.Inverse(j0, k));
            for (int i = j0; i < k; i++)
            {
                var lRow = l.AsSpan((int)((long)i * k), i + 1);
                for (int g = 0; g < count && j0 + g <= i; g++)
                {
                    int j = j0 + g;
                    var xg = x.AsSpan(g * k, k);
                    xg[i] = i == j ? 1 / lRow[i] : -Dot(lRow[j..i], xg[j..i]) / lRow[i];
                    u[((long)(k - 1 - i) * k) + (k - 1 - j)] = xg[i];
                }
            }
        }

        return u;
    }

    /// <summary>
    /// L, lower triangular with A = L·Lᵀ, for A = P·H·P; a non-positive pivot is an error naming H's input. Rows are
    /// computed a group at a time: every finished row j of L is read once for the whole group (the dot products of
    /// each entry are unchanged, so the result does not depend on the grouping).
    /// </summary>
    private static double[] LowerCholesky(double[] a, int k, ThrottledProgress? reporter)
    {
        var l = new double[(long)k * k];
        for (int i0 = 0; i0 < k; i0 += Group)
        {
            int i1 = Math.Min(k, i0 + Group);
            reporter?.Step(Work.Cholesky(i0));

            // Entries left of the group's diagonal block: rows j < i0 are final.
            for (int j = 0; j < i0; j++)
            {
                var rowJ = l.AsSpan((int)((long)j * k), j);
                double pivot = l[((long)j * k) + j];
                for (int i = i0; i < i1; i++)
                {
                    l[((long)i * k) + j] = (a[((long)i * k) + j] - Dot(l.AsSpan((int)((long)i * k), j), rowJ)) / pivot;
                }
            }

            // The diagonal block, row by row.
            for (int i = i0; i < i1; i++)
            {
                var rowI = l.AsSpan((int)((long)i * k), k);
                for (int j = i0; j <= i; j++)
                {
                    double sum = a[((long)i * k) + j] - Dot(rowI[..j], l.AsSpan((int)((long)j * k), j));
                    if (i != j)
                    {
                        rowI[j] = sum / l[((long)j * k) + j];
                    }
                    else if (sum > 0)
                    {
                        rowI[i] = Math.Sqrt(sum);
                    }
                    else
                    {
#pragma warning disable CA2208 // names the public caller's parameter (QuantizeGptq's hessian)
                        throw new ArgumentException($"The Hessian is not positive definite at input {k - 1 - i} (even after damping).", "hessian");
#pragma warning restore CA2208
                    }
                }
            }
        }

        return l;
    }

    /// <summary>Σ a·b in a fixed order on every ISA: four lanes (Vector256, emulated where narrower), then the tail.</summary>
    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var acc = Vector256<double>.Zero;
        int i = 0;
        for (; i + 4 <= a.Length; i += 4)
        {
            acc += Vector256.Create(a.Slice(i, 4)) * Vector256.Create(b.Slice(i, 4));
        }

        double sum = (acc.GetElement(0) + acc.GetElement(1)) + (acc.GetElement(2) + acc.GetElement(3));
        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    /// <summary>y += alpha · x, element by element (each element's result is the same on every ISA).</summary>
    private static void Axpy(double alpha, ReadOnlySpan<double> x, Span<double> y)
    {
        var a = Vector256.Create(alpha);
        int i = 0;
        for (; i + 4 <= x.Length; i += 4)
        {
            (Vector256.Create(y.Slice(i, 4)) + (a * Vector256.Create(x.Slice(i, 4)))).CopyTo(y.Slice(i, 4));
        }

        for (; i < x.Length; i++)
        {
            y[i] += alpha * x[i];
        }
    }
}
