using Quant.Net.Simd;
using System.Runtime.CompilerServices;

namespace Quant.Net.Kernels;

/// <summary>
/// An int8 weight matrix B[K, N] packed once for this process's int8 GEMM kernel, with its per-column sums (for
/// zero-point correction), per-channel zero points and, optionally, per-channel scales. Immutable and thread-safe.
/// </summary>
public sealed class PackedInt8Weights
{
    private readonly int[] _zeroPoints;
    private readonly float[] _scales;

    private PackedInt8Weights(Int8GemmPath path, int k, int n, byte[] data, int[] columnSums, int[] zeroPoints, float[] scales)
    {
        Path = path;
        K = k;
        N = n;
        Data = data;
        ColumnSums = columnSums;
        _zeroPoints = zeroPoints;
        _scales = scales;
    }

    /// <summary>Rows of B (the reduction length).</summary>
    public int K { get; }

    /// <summary>Columns of B (output channels).</summary>
    public int N { get; }

    /// <summary>Zero point of each output channel (length N).</summary>
    public ReadOnlySpan<int> ZeroPoints => _zeroPoints;

    /// <summary>Scale of each output channel (length N), or empty when none were given.</summary>
    public ReadOnlySpan<float> Scales => _scales;

    internal Int8GemmPath Path { get; }

    internal Int8GemmTile Tile => Int8GemmTile.Of(Path);

    /// <summary>Panels of NR columns, each K-padded groups of NR×KR values (bytes, or int16 for wide paths).</summary>
    internal byte[] Data { get; }

    /// <summary>Σ_k B[k, n] of the values as given (before any shift).</summary>
    internal int[] ColumnSums { get; }

    internal int PanelBytes => Tile.PaddedK(K) * Tile.NR * Tile.BBytes;

    /// <summary>Packs int8 weights.</summary>
    /// <param name="weights">B in <paramref name="layout"/>, K·N values.</param>
    /// <param name="k">Rows of B; 1 ≤ k ≤ <see cref="Int8Gemm.MaxK"/>.</param>
    /// <param name="n">Columns of B (output channels), ≥ 1.</param>
    /// <param name="layout">[K, N] or [N, K].</param>
    /// <param name="zeroPoints">Empty (all 0), one for all channels, or one per channel; each in [-128, 127].</param>
    /// <param name="scales">Empty, one, or one per channel; each finite and &gt; 0. Used by float outputs.</param>
    public static PackedInt8Weights Pack(ReadOnlySpan<sbyte> weights, int k, int n, WeightLayout layout,
        ReadOnlySpan<int> zeroPoints, ReadOnlySpan<float> scales) =>
        Pack(IsaConfig.Best.Int8Gemm, weights, k, n, layout, zeroPoints, scales, flip: false);

    /// <summary>Packs uint8 weights (stored internally as int8 with the zero points shifted by −128; results are identical).</summary>
    /// <param name="weights">B in <paramref name="layout"/>, K·N values.</param>
    /// <param name="k">Rows of B; 1 ≤ k ≤ <see cref="Int8Gemm.MaxK"/>.</param>
    /// <param name="n">Columns of B (output channels), ≥ 1.</param>
    /// <param name="layout">[K, N] or [N, K].</param>
    /// <param name="zeroPoints">Empty (all 0), one for all channels, or one per channel; each in [0, 255].</param>
    /// <param name="scales">Empty, one, or one per channel; each finite and &gt; 0.</param>
    public static PackedInt8Weights Pack(ReadOnlySpan<byte> weights, int k, int n, WeightLayout layout,
        ReadOnlySpan<int> zeroPoints, ReadOnlySpan<float> scales) =>
        Pack(IsaConfig.Best.Int8Gemm, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(weights), k, n, layout, zeroPoints, scales, flip: true);

    /// <summary>Wraps panels a caller has already laid out in <paramref name="path"/>'s format (for example image patches).</summary>
    internal static PackedInt8Weights Wrap(Int8GemmPath path, int k, int n, byte[] data, int[] columnSums, int[] zeroPoints) =>
        new(path, k, n, data, columnSums, zeroPoints, []);

    internal static PackedInt8Weights Pack(Int8GemmPath path, ReadOnlySpan<sbyte> weights, int k, int n, WeightLayout layout,
        ReadOnlySpan<int> zeroPoints, ReadOnlySpan<float> scales, bool flip)
    {
        if (k < 1 || k > Int8Gemm.MaxK) throw new ArgumentOutOfRangeException(nameof(k), k, $"K must lie in [1, {Int8Gemm.MaxK}] so that int32 accumulation cannot overflow.");
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (weights.Length != (long)k * n) throw new ArgumentException($"Expected {(long)k * n} weights for K={k}, N={n}; got {weights.Length}.", nameof(weights));
        if (layout is not (WeightLayout.KByN or WeightLayout.NByK)) throw new ArgumentOutOfRangeException(nameof(layout));
        int[] zp = PerChannel(zeroPoints, n, nameof(zeroPoints));
        int low = flip ? 0 : -128, high = flip ? 255 : 127;
        foreach (int z in zp)
        {
            if (z < low || z > high) throw new ArgumentOutOfRangeException(nameof(zeroPoints), z, $"Weight zero points must lie in [{low}, {high}].");
        }
        if (flip) for (int i = 0; i < zp.Length; i++) zp[i] -= 128; // b − zp is unchanged when both shift by 128
        float[] sc = scales.IsEmpty ? [] : PerChannelScales(scales, n, nameof(scales));

        if (path == Int8GemmPath.Avx2 && PairsFitMaddUbs(weights, k, n, layout, flip)) path = Int8GemmPath.Avx2MaddUbs;
        var tile = Int8GemmTile.Of(path);
        int kp = tile.PaddedK(k), panels = (n + tile.NR - 1) / tile.NR, width = tile.BBytes;
        var data = new byte[(long)panels * kp * tile.NR * width];
        var sums = new int[n];
        for (int col = 0; col < n; col++)
        {
            int j = col % tile.NR, sum = 0;
            for (int row = 0; row < k; row++)
            {
                sbyte raw = layout == WeightLayout.KByN ? weights[row * n + col] : weights[col * k + row];
                int value = flip ? (sbyte)(raw ^ unchecked((sbyte)0x80)) : raw;
                sum += value;
                // Panel layout: for each group of KR rows, NR columns × KR values, column-major inside the group.
                long index = tile.PanelStart(kp, col) + tile.InPanel(row, j);
                if (width == 1) data[index] = (byte)(sbyte)value;
                else Unsafe.WriteUnaligned(ref data[index * 2], (short)value);
            }
            sums[col] = sum;
        }
        return new PackedInt8Weights(path, k, n, data, sums, zp, sc);
    }

    /// <summary>
    /// Whether <c>vpmaddubsw</c> is exact on these weights in the c4 layout, which multiplies rows 2i and 2i + 1 of a column
    /// as a pair: with uint8 activations up to 255 the pair sum is at most 255 · max(P, N) in magnitude, P the sum of the
    /// pair's positive values and N of its negative magnitudes, so P ≤ 128 and N ≤ 128 keep it inside int16 (32,640).
    /// Every 7-bit weight matrix ([−64, 64]) passes, and so do the <c>portable</c> deployment target's pair-safe weights.
    /// Values are the stored ones (uint8 weights minus 128).
    /// </summary>
    private static bool PairsFitMaddUbs(ReadOnlySpan<sbyte> weights, int k, int n, WeightLayout layout, bool flip)
    {
        for (int col = 0; col < n; col++)
        {
            for (int row = 0; row < k; row += 2)
            {
                int w0 = Stored(weights, k, n, layout, flip, row, col), w1 = row + 1 < k ? Stored(weights, k, n, layout, flip, row + 1, col) : 0;
                int positive = Math.Max(w0, 0) + Math.Max(w1, 0), negative = Math.Max(-w0, 0) + Math.Max(-w1, 0);
                if (positive > 128 || negative > 128) return false;
            }
        }
        return true;
    }

    private static int Stored(ReadOnlySpan<sbyte> weights, int k, int n, WeightLayout layout, bool flip, int row, int col)
    {
        sbyte raw = layout == WeightLayout.KByN ? weights[row * n + col] : weights[col * k + row];
        return flip ? (sbyte)(raw ^ unchecked((sbyte)0x80)) : raw;
    }

    private static int[] PerChannel(ReadOnlySpan<int> values, int n, string name)
    {
        if (values.IsEmpty) return new int[n];
        if (values.Length == 1) return Enumerable.Repeat(values[0], n).ToArray();
        if (values.Length != n) throw new ArgumentException($"Expected 1 or {n} values, got {values.Length}.", name);
        return values.ToArray();
    }

    /// <summary>Validates 1 or <paramref name="n"/> scales and expands them to one per channel.</summary>
    internal static float[] PerChannelScales(ReadOnlySpan<float> values, int n, string name)
    {
        foreach (float s in values) QuantParams.ValidateScale(s, name);
        if (values.Length == 1) return Enumerable.Repeat(values[0], n).ToArray();
        if (values.Length != n) throw new ArgumentException($"Expected 1 or {n} scales, got {values.Length}.", name);
        return values.ToArray();
    }
}
