namespace Quant.Net.Simd;

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
