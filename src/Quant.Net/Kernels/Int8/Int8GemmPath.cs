using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Quant.Net.Kernels;

/// <summary>The int8 GEMM microkernels, best first. A path fixes the tile (MR×NR×KR) and the packed layouts.</summary>
internal enum Int8GemmPath
{
    /// <summary>Scalar 4×16 over the same layout as <see cref="AdvSimd"/>: the fallback with no SIMD.</summary>
    Scalar = 0,
    /// <summary>ARM AdvSimd without the dot-product extension: 4×16, int16 operands, <c>smlal</c> widening multiply-add.</summary>
    AdvSimd = 1,
    /// <summary>ARM AdvSimd with <c>Dp</c>: 4×16c4, <c>sdot</c> on int8 (uint8 A is shifted to int8 by xor 0x80).</summary>
    AdvSimdDp = 2,
    /// <summary>x86 SSE2, 128-bit: 4×8c2, int16 operands, <c>pmaddwd</c>.</summary>
    Sse2 = 3,
    /// <summary>x86 AVX2 without VNNI: 6×16c2, int16 operands, <c>vpmaddwd</c> (exact, unlike <c>vpmaddubsw</c>).</summary>
    Avx2 = 4,
    /// <summary>x86 AVX-VNNI: 6×16c4, <c>vpdpbusd ymm</c> on uint8 A × int8 B (int8 A is shifted to uint8 by xor 0x80).</summary>
    AvxVnni = 5,
}

/// <summary>Tile and layout facts of a path.</summary>
internal readonly record struct Int8GemmTile(int MR, int NR, int KR, bool WideOperands, bool SignedA)
{
    public static Int8GemmTile Of(Int8GemmPath path) => path switch
    {
        Int8GemmPath.AvxVnni => new(6, 16, 4, false, false),
        Int8GemmPath.Avx2 => new(6, 16, 2, true, true),
        Int8GemmPath.Sse2 => new(4, 8, 2, true, true),
        Int8GemmPath.AdvSimdDp => new(4, 16, 4, false, true),
        _ => new(4, 16, 1, true, true), // AdvSimd and Scalar share the layout
    };

    /// <summary>K rounded up to a whole number of KR groups.</summary>
    public int PaddedK(int k) => (k + KR - 1) / KR * KR;
}

/// <summary>The path chosen once per process, and every path this machine can run (for tests and benchmarks).</summary>
internal static class Int8GemmConfig
{
    public static readonly Int8GemmPath Best = Supported()[^1];

    public static Int8GemmPath[] Supported()
    {
        var paths = new List<Int8GemmPath> { Int8GemmPath.Scalar };
        if (System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported) paths.Add(Int8GemmPath.AdvSimd);
        if (Dp.IsSupported) paths.Add(Int8GemmPath.AdvSimdDp);
        if (System.Runtime.Intrinsics.X86.Sse2.IsSupported) paths.Add(Int8GemmPath.Sse2);
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported) paths.Add(Int8GemmPath.Avx2);
        if (System.Runtime.Intrinsics.X86.AvxVnni.IsSupported) paths.Add(Int8GemmPath.AvxVnni);
        return paths.ToArray();
    }
}
