using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using X86 = System.Runtime.Intrinsics.X86;

namespace Quant.Net.Kernels;

/// <summary>
/// One row × 16 columns, K in groups of 4, uint8 A × int8 B: the GEMV (decode-time) kernel of the AVX-VNNI and AVX2
/// pair-safe paths. Four groups per iteration into eight independent accumulators hide the dot's latency, where a single
/// row of the 6×16 kernel would wait on two dependency chains; the bound becomes the rate at which B streams in. Same
/// packed layout as <see cref="Int8Gemm6x16c4{TDot}"/>.
/// </summary>
/// <typeparam name="TDot">The accumulate step (<see cref="VnniDot"/> or <see cref="Avx2SmallDot"/>).</typeparam>
internal static class Int8Gemm1x16c4<TDot>
    where TDot : IDot256
{
    public static void Compute(ref byte a, ref byte b, int kGroups, ref int tile)
    {
        Vector256<int> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        nint g = 0;
        for (; g + 4 <= kGroups; g += 4)
        {
            ref byte bg = ref Unsafe.Add(ref b, g * 64);
            Vector256<byte> v0 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a, g * 4))).AsByte();
            Vector256<byte> v1 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a, g * 4 + 4))).AsByte();
            Vector256<byte> v2 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a, g * 4 + 8))).AsByte();
            Vector256<byte> v3 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a, g * 4 + 12))).AsByte();
            c0 = TDot.Dot(c0, v0, Vector256.LoadUnsafe(ref bg).AsSByte());
            c1 = TDot.Dot(c1, v0, Vector256.LoadUnsafe(ref bg, 32).AsSByte());
            c2 = TDot.Dot(c2, v1, Vector256.LoadUnsafe(ref bg, 64).AsSByte());
            c3 = TDot.Dot(c3, v1, Vector256.LoadUnsafe(ref bg, 96).AsSByte());
            c4 = TDot.Dot(c4, v2, Vector256.LoadUnsafe(ref bg, 128).AsSByte());
            c5 = TDot.Dot(c5, v2, Vector256.LoadUnsafe(ref bg, 160).AsSByte());
            c6 = TDot.Dot(c6, v3, Vector256.LoadUnsafe(ref bg, 192).AsSByte());
            c7 = TDot.Dot(c7, v3, Vector256.LoadUnsafe(ref bg, 224).AsSByte());
        }
        for (; g < kGroups; g++)
        {
            ref byte bg = ref Unsafe.Add(ref b, g * 64);
            Vector256<byte> v = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a, g * 4))).AsByte();
            c0 = TDot.Dot(c0, v, Vector256.LoadUnsafe(ref bg).AsSByte());
            c1 = TDot.Dot(c1, v, Vector256.LoadUnsafe(ref bg, 32).AsSByte());
        }
        // Integer addition is associative (wrapping), so regrouping the chains changes no bit.
        ((c0 + c2) + (c4 + c6)).StoreUnsafe(ref tile);
        ((c1 + c3) + (c5 + c7)).StoreUnsafe(ref tile, 8);
    }
}
