namespace Quant.Net.Simd;

/// <summary>Vector widths the elementwise primitives can run at, widest last.</summary>
internal enum SimdLevel
{
    /// <summary>The scalar reference: the oracle every other path must match bit for bit.</summary>
    Scalar = 0,
    /// <summary>128-bit vectors (SSE4.1 on x86, AdvSimd on ARM).</summary>
    Vector128 = 1,
    /// <summary>256-bit vectors (AVX2).</summary>
    Vector256 = 2,
    /// <summary>512-bit vectors (AVX-512).</summary>
    Vector512 = 3,
}
