namespace Quant.Net.Simd;

/// <summary>The integer (mode b) block kernels, best first.</summary>
internal enum BlockGemmPath
{
    /// <summary>The scalar reference.</summary>
    Scalar = 0,
    /// <summary>ARM <c>sdot</c>.</summary>
    AdvSimdDp = 1,
    /// <summary>x86 AVX2 (<c>vpmaddubsw</c> on values that cannot saturate, <c>vpmaddwd</c> otherwise).</summary>
    Avx2 = 2,
    /// <summary>x86 AVX-VNNI (<c>vpdpbusd ymm</c>).</summary>
    AvxVnni = 3,
}
