using Quant.Net.Simd;
namespace Quant.Net.Kernels;

/// <summary>
/// An FP32 weight matrix B[K, N] packed once for this process's FP32 GEMM kernel: panels of NR columns (two vectors
/// wide), each K rows of NR contiguous values. Immutable and thread-safe.
/// </summary>
public sealed class PackedFloatWeights
{
    private PackedFloatWeights(SimdLevel level, int k, int n, float[] data)
    {
        Level = level;
        K = k;
        N = n;
        Data = data;
    }

    /// <summary>Rows of B (the reduction length).</summary>
    public int K { get; }

    /// <summary>Columns of B (output channels).</summary>
    public int N { get; }

    internal SimdLevel Level { get; }

    internal int NR => Fp32Gemm.PanelWidth(Level);

    internal float[] Data { get; }

    /// <summary>Packs FP32 weights.</summary>
    /// <param name="weights">B in <paramref name="layout"/>, K·N values.</param>
    /// <param name="k">Rows of B, ≥ 1.</param>
    /// <param name="n">Columns of B, ≥ 1.</param>
    /// <param name="layout">[K, N] or [N, K].</param>
    public static PackedFloatWeights Pack(ReadOnlySpan<float> weights, int k, int n, WeightLayout layout) =>
        Pack(IsaConfig.Best.Elementwise, weights, k, n, layout);

    /// <summary>Wraps panels that a caller has already laid out (for example patches packed straight from an image).</summary>
    internal static PackedFloatWeights Wrap(SimdLevel level, int k, int n, float[] data) => new(level, k, n, data);

    internal static PackedFloatWeights Pack(SimdLevel level, ReadOnlySpan<float> weights, int k, int n, WeightLayout layout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (weights.Length != (long)k * n) throw new ArgumentException($"Expected {(long)k * n} weights for K={k}, N={n}; got {weights.Length}.", nameof(weights));
        if (layout is not (WeightLayout.KByN or WeightLayout.NByK)) throw new ArgumentOutOfRangeException(nameof(layout));
        int nr = Fp32Gemm.PanelWidth(level), panels = (n + nr - 1) / nr;
        var data = new float[(long)panels * k * nr];
        for (int col = 0; col < n; col++)
        {
            for (int row = 0; row < k; row++)
                data[PanelIndex(k, nr, row, col)] = layout == WeightLayout.KByN ? weights[row * n + col] : weights[col * k + row];
        }
        return new PackedFloatWeights(level, k, n, data);
    }

    /// <summary>
    /// Where element (row, col) of a K-row matrix sits in the FP32 kernels' B panels: panel col / NR of K·NR values,
    /// row-major inside the panel. The one definition of the layout (AdaRound packs its samples with it too).
    /// </summary>
    internal static long PanelIndex(int k, int nr, int row, int col) => ((long)(col / nr) * k * nr) + ((long)row * nr) + (col % nr);
}
