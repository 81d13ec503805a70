using Quant.Net.Simd;

namespace Quant.Net.Kernels;

/// <summary>Tile and layout facts of a path.</summary>
/// <param name="MR">Rows of A per tile.</param>
/// <param name="NR">Columns of B per panel.</param>
/// <param name="KR">Consecutive K values per column inside a panel group.</param>
/// <param name="WideA">Packed A holds int16 (widened at packing) rather than bytes.</param>
/// <param name="WideB">Packed B holds int16 rather than int8 bytes.</param>
/// <param name="SignedA">Byte A is multiplied as int8 (otherwise as uint8); irrelevant when <paramref name="WideA"/>.</param>
internal readonly record struct Int8GemmTile(int MR, int NR, int KR, bool WideA, bool WideB, bool SignedA)
{
    public static Int8GemmTile Of(Int8GemmPath path) => path switch
    {
        Int8GemmPath.AvxVnni or Int8GemmPath.Avx2MaddUbs => new(6, 16, 4, false, false, false),
        Int8GemmPath.Avx2 => new(6, 16, 2, true, false, true),
        Int8GemmPath.Sse2 => new(4, 8, 2, true, true, true),
        Int8GemmPath.AdvSimdDp => new(4, 16, 4, false, false, true),
        _ => new(4, 16, 1, true, true, true), // AdvSimd and Scalar share the layout
    };

    /// <summary>Bytes per packed B element.</summary>
    public int BBytes => WideB ? 2 : 1;

    /// <summary>Bytes per packed A element.</summary>
    public int ABytes => WideA ? 2 : 1;

    /// <summary>K rounded up to a whole number of KR groups.</summary>
    public int PaddedK(int k) => (k + KR - 1) / KR * KR;

    /// <summary>First element of the packed B panel holding <paramref name="column"/> (panels of PaddedK·NR values).</summary>
    public long PanelStart(int paddedK, int column) => (long)(column / NR) * paddedK * NR;

    /// <summary>
    /// Offset of element (k, lane) inside a packed B panel: for each group of KR rows, NR columns × KR values, column-major
    /// inside the group. With <see cref="PanelStart"/>, the one definition of the layout (weights and conv patches use it).
    /// </summary>
    public int InPanel(int k, int lane) => ((k / KR) * NR * KR) + (lane * KR) + (k % KR);
}
