namespace Quant.Net.Kernels;

/// <summary>
/// Where row t of a B panel starts, in elements from the panel's start: what a microkernel generic over this struct
/// reads at step t. Packed panels hold their K rows back to back; a convolution's shifted planes give each row its
/// own offset. Implementations are structs, so each instantiation compiles to its own loop.
/// </summary>
internal interface IPanelRows
{
    /// <summary>Offset of row <paramref name="t"/> (a row is <paramref name="rowLength"/> elements in a packed panel).</summary>
    nint Offset(nint t, nint rowLength);
}

/// <summary>Packed panels: row t at t · row length.</summary>
internal readonly struct PackedRows : IPanelRows
{
    public nint Offset(nint t, nint rowLength) => t * rowLength;
}

/// <summary>
/// Rows at offsets from a table (a convolution's K rows, each a tap of a channel in its shifted phase plane); panel p
/// then starts p·NR elements into the planes, so the panels are views of the staged image and nothing is copied.
/// </summary>
internal readonly unsafe struct ShiftedRows(nint* offsets) : IPanelRows
{
    public nint Offset(nint t, nint rowLength) => offsets[t];
}

/// <summary>
/// Where a microkernel reads A: row r starts <see cref="Row"/> elements after A's base and its element t
/// <see cref="Step"/> further. Implementations are structs, so each instantiation compiles to its own loop.
/// </summary>
internal interface IRowSteps
{
    /// <summary>Offset of row <paramref name="r"/> of the tile.</summary>
    nint Row(int r);

    /// <summary>Offset of element <paramref name="t"/> within a row.</summary>
    nint Step(nint t);
}

/// <summary>A row-major A: row r at r · stride, element t at t.</summary>
internal readonly struct StridedRows(nint stride) : IRowSteps
{
    public nint Row(int r) => r * stride;

    public nint Step(nint t) => t;
}

/// <summary>
/// A convolution's output pixels as the rows of A: row r at the staged-image offset of its pixel's first tap
/// (<paramref name="pixels"/>[r]), element t, tap (c, ky, kx), at <paramref name="taps"/>[t] further. No patch matrix is
/// written: the tile reads each tap where the staged image holds it.
/// </summary>
internal readonly unsafe struct PixelRows(nint* pixels, nint* taps) : IRowSteps
{
    public nint* Pixels => pixels;

    public nint* Taps => taps;

    public nint Row(int r) => pixels[r];

    public nint Step(nint t) => taps[t];
}
