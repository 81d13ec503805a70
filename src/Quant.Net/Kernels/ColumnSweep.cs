using Quant.Net.Simd;

namespace Quant.Net.Kernels;

/// <summary>One row tile of a GEMM over a range of column panels: what <see cref="ColumnSweep"/> calls.</summary>
internal interface IColumnTile
{
    /// <summary>Computes row tile <paramref name="rowTile"/> for the column panels [<paramref name="panelStart"/>, <paramref name="panelEnd"/>).</summary>
    void Run(int rowTile, int panelStart, int panelEnd);
}

/// <summary>
/// The sweep every GEMM driver shares: threads take contiguous ranges of column panels on a <see cref="KernelThreadPool"/>
/// (each then reads only its share of B), or, when there are fewer panels than threads to use, contiguous ranges of
/// row tiles, each sweeping every panel (a convolution's many output pixels against few output channels, a tall
/// product with a narrow B). Rows and columns are independent, so the result does not depend on the split. Within a
/// range, blocks of about <see cref="L2BlockBytes"/> of packed B are swept by every row tile before the next block
/// starts, so B stays in L2 while A streams. With one row tile there is no reuse to protect and the whole range is one block.
/// </summary>
internal static class ColumnSweep
{
    /// <summary>Packed B kept hot per column block.</summary>
    public const int L2BlockBytes = 512 * 1024;

    /// <summary>Runs <paramref name="tile"/> over <paramref name="rowTiles"/> × [0, <paramref name="panels"/>).</summary>
    /// <param name="tile">The row-tile computation.</param>
    /// <param name="rowTiles">Row tiles of A.</param>
    /// <param name="panels">Column panels of B.</param>
    /// <param name="panelBytes">Bytes of one packed B panel (0: no column blocking).</param>
    /// <param name="multiplyAdds">Work of the whole product, for the thread count.</param>
    /// <param name="maxDegreeOfParallelism">1, −1 for every core, or a limit.</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    public static void Run<T>(T tile, int rowTiles, int panels, long panelBytes, long multiplyAdds, int maxDegreeOfParallelism, KernelThreadPool? pool = null)
        where T : IColumnTile
    {
        int threads = Parallelism.Threads(maxDegreeOfParallelism, multiplyAdds, Math.Max(panels, rowTiles));
        if (threads == 1)
        {
            Range(tile, 0, rowTiles, panelBytes, 0, panels);   // no allocation on the single-threaded path
        }
        else if (panels >= threads)
        {
            Threaded(tile, rowTiles, panels, panelBytes, threads, pool ?? KernelThreadPool.Shared);
        }
        else
        {
            ThreadedRows(tile, rowTiles, panels, panelBytes, threads, pool ?? KernelThreadPool.Shared);
        }
    }

    // The closures live here so that the single-threaded path allocates nothing.
    private static void Threaded<T>(T tile, int rowTiles, int panels, long panelBytes, int threads, KernelThreadPool pool)
        where T : IColumnTile =>
        pool.ForEachRange(panels, threads, (start, end) => Range(tile, 0, rowTiles, panelBytes, start, end));

    private static void ThreadedRows<T>(T tile, int rowTiles, int panels, long panelBytes, int threads, KernelThreadPool pool)
        where T : IColumnTile =>
        pool.ForEachRange(rowTiles, threads, (start, end) => Range(tile, start, end, panelBytes, 0, panels));

    private static void Range<T>(T tile, int firstTile, int endTile, long panelBytes, int start, int end)
        where T : IColumnTile
    {
        // At least one panel per block; an empty range runs no block.
        int perBlock = endTile - firstTile <= 1 || panelBytes <= 0 ? end - start : (int)Math.Clamp(L2BlockBytes / panelBytes, 1, int.MaxValue);
        for (int p0 = start; p0 < end; p0 += perBlock)
        {
            int p1 = Math.Min(end, p0 + perBlock);
            for (int t = firstTile; t < endTile; t++)
            {
                tile.Run(t, p0, p1);
            }
        }
    }
}
