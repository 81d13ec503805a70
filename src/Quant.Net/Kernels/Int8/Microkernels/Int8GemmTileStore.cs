using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quant.Net.Kernels;

/// <summary>How a 6×16 kernel writes its 12 int32 accumulators (rows of two 256-bit halves); specialised per struct.</summary>
internal interface IInt8TileStore6x16
{
    static abstract void Store(ref int destination, nint stride, ref int terms,
        Vector256<int> c00, Vector256<int> c01, Vector256<int> c10, Vector256<int> c11, Vector256<int> c20, Vector256<int> c21,
        Vector256<int> c30, Vector256<int> c31, Vector256<int> c40, Vector256<int> c41, Vector256<int> c50, Vector256<int> c51);
}

/// <summary>Raw sums into a 6×16 scratch tile (the driver corrects partial tiles and weight zero points).</summary>
internal readonly struct RawTileStore : IInt8TileStore6x16
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ref int destination, nint stride, ref int terms,
        Vector256<int> c00, Vector256<int> c01, Vector256<int> c10, Vector256<int> c11, Vector256<int> c20, Vector256<int> c21,
        Vector256<int> c30, Vector256<int> c31, Vector256<int> c40, Vector256<int> c41, Vector256<int> c50, Vector256<int> c51) =>
        Write(ref destination, 16, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Write(ref int d, nint stride,
        Vector256<int> c00, Vector256<int> c01, Vector256<int> c10, Vector256<int> c11, Vector256<int> c20, Vector256<int> c21,
        Vector256<int> c30, Vector256<int> c31, Vector256<int> c40, Vector256<int> c41, Vector256<int> c50, Vector256<int> c51)
    {
        c00.StoreUnsafe(ref d); c01.StoreUnsafe(ref d, 8);
        c10.StoreUnsafe(ref Unsafe.Add(ref d, stride)); c11.StoreUnsafe(ref Unsafe.Add(ref d, stride), 8);
        c20.StoreUnsafe(ref Unsafe.Add(ref d, 2 * stride)); c21.StoreUnsafe(ref Unsafe.Add(ref d, 2 * stride), 8);
        c30.StoreUnsafe(ref Unsafe.Add(ref d, 3 * stride)); c31.StoreUnsafe(ref Unsafe.Add(ref d, 3 * stride), 8);
        c40.StoreUnsafe(ref Unsafe.Add(ref d, 4 * stride)); c41.StoreUnsafe(ref Unsafe.Add(ref d, 4 * stride), 8);
        c50.StoreUnsafe(ref Unsafe.Add(ref d, 5 * stride)); c51.StoreUnsafe(ref Unsafe.Add(ref d, 5 * stride), 8);
    }
}

/// <summary>Full tiles without weight zero points: add the per-column terms and store straight into C.</summary>
internal readonly struct CorrectedStore : IInt8TileStore6x16
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ref int destination, nint stride, ref int terms,
        Vector256<int> c00, Vector256<int> c01, Vector256<int> c10, Vector256<int> c11, Vector256<int> c20, Vector256<int> c21,
        Vector256<int> c30, Vector256<int> c31, Vector256<int> c40, Vector256<int> c41, Vector256<int> c50, Vector256<int> c51)
    {
        Vector256<int> t0 = Vector256.LoadUnsafe(ref terms), t1 = Vector256.LoadUnsafe(ref terms, 8);
        RawTileStore.Write(ref destination, stride, c00 + t0, c01 + t1, c10 + t0, c11 + t1, c20 + t0, c21 + t1,
            c30 + t0, c31 + t1, c40 + t0, c41 + t1, c50 + t0, c51 + t1);
    }
}
