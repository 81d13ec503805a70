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
    /// <summary>
    /// x86 AVX2 without VNNI: 6×16c2, A widened to int16 at packing, B kept as int8 and sign-extended on load, <c>vpmaddwd</c>
    /// (exact for every int8/uint8 input, unlike <c>vpmaddubsw</c>); a 1-row kernel for M ≤ 2.
    /// </summary>
    Avx2 = 4,
    /// <summary>x86 AVX-VNNI: 6×16c4, <c>vpdpbusd ymm</c> on uint8 A × int8 B (int8 A is shifted to uint8 by xor 0x80).</summary>
    AvxVnni = 5,
    /// <summary>
    /// x86 AVX2 for weights on which <c>vpmaddubsw</c> is exact: 6×16c4 (the <see cref="AvxVnni"/> layout), uint8 A × int8 B
    /// by <c>vpmaddubsw</c>, then <c>vpmaddwd</c> with ones. The instruction sums the products of K rows 2i and 2i + 1 in
    /// saturating int16; when, for every such pair of a column, the positive weights sum to at most 128 and so do the
    /// negative magnitudes, no sum can exceed 255 · 128 = 32,640 and nothing saturates. That holds for every 7-bit weight
    /// ([−64, 64]) and for the <c>portable</c> deployment target's pair-safe weights. Chosen at packing from the weights
    /// themselves, never detected as a process-wide path.
    /// </summary>
    Avx2MaddUbs = 6,
}
