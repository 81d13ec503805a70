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
