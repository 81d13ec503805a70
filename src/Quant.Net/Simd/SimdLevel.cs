using System.Runtime.Intrinsics;

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

/// <summary>The widest vector path this process supports, chosen once (the only static state of the primitives).</summary>
internal static class SimdConfig
{
    public static readonly SimdLevel Best = Detect();

    /// <summary>Every level this process can run, scalar first; tests run each against the scalar reference.</summary>
    public static IReadOnlyList<SimdLevel> Supported { get; } = Enumerable.Range(0, (int)Best + 1).Select(i => (SimdLevel)i).ToArray();

    private static SimdLevel Detect()
    {
        if (Vector512.IsHardwareAccelerated) return SimdLevel.Vector512;
        if (Vector256.IsHardwareAccelerated) return SimdLevel.Vector256;
        if (Vector128.IsHardwareAccelerated) return SimdLevel.Vector128;
        return SimdLevel.Scalar;
    }
}
