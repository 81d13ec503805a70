using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Quant.Net.Simd;

/// <summary>
/// The one ISA configuration of the process, chosen once at start-up (as XNNPACK's gemm config): the vector width of
/// the elementwise primitives, the int8 GEMM microkernel path and the block (int4/int8 weight-only) GEMM path. It is
/// the only static state of the kernels. Every lower level and path this machine can run is listed for the tests, which
/// run each against the scalar reference through the internal overloads that take a level or path; the runtime's
/// <c>DOTNET_Enable*</c> switches lower what is detected here (CI asserts what each rerun chose).
/// </summary>
/// <param name="Elementwise">Vector width of quantize/dequantize/fake-quant/observers/FP32 GEMM.</param>
/// <param name="Int8Gemm">Int8 GEMM microkernel path (tile and packed layout).</param>
/// <param name="BlockGemm">Integer-activation block GEMM path.</param>
internal sealed record IsaConfig(SimdLevel Elementwise, Int8GemmPath Int8Gemm, BlockGemmPath BlockGemm)
{
    /// <summary>Every elementwise level this process can run, scalar first.</summary>
    public static IReadOnlyList<SimdLevel> ElementwiseLevels { get; } = DetectLevels();

    /// <summary>Every int8 GEMM path this process can run, scalar first.</summary>
    public static IReadOnlyList<Int8GemmPath> Int8GemmPaths { get; } = DetectInt8Paths();

    /// <summary>Every block GEMM path this process can run, scalar first.</summary>
    public static IReadOnlyList<BlockGemmPath> BlockGemmPaths { get; } = DetectBlockPaths();

    /// <summary>The configuration in use: the best of each.</summary>
    public static IsaConfig Best { get; } = new(ElementwiseLevels[^1], Int8GemmPaths[^1], BlockGemmPaths[^1]);

    /// <summary>For logs and test diagnostics.</summary>
    public override string ToString() => $"elementwise {Elementwise}, int8 GEMM {Int8Gemm}, block GEMM {BlockGemm}";

    private static SimdLevel[] DetectLevels()
    {
        var best = Vector512.IsHardwareAccelerated ? SimdLevel.Vector512
            : Vector256.IsHardwareAccelerated ? SimdLevel.Vector256
            : Vector128.IsHardwareAccelerated ? SimdLevel.Vector128 : SimdLevel.Scalar;
        return [.. Enumerable.Range(0, (int)best + 1).Select(i => (SimdLevel)i)];
    }

    private static Int8GemmPath[] DetectInt8Paths()
    {
        var paths = new List<Int8GemmPath> { Int8GemmPath.Scalar };
        if (AdvSimd.IsSupported) paths.Add(Int8GemmPath.AdvSimd);
        if (Dp.IsSupported) paths.Add(Int8GemmPath.AdvSimdDp);
        if (Sse2.IsSupported) paths.Add(Int8GemmPath.Sse2);
        if (Avx2.IsSupported) paths.Add(Int8GemmPath.Avx2);
        if (AvxVnni.IsSupported) paths.Add(Int8GemmPath.AvxVnni);
        return [.. paths];
    }

    private static BlockGemmPath[] DetectBlockPaths()
    {
        var paths = new List<BlockGemmPath> { BlockGemmPath.Scalar };
        if (Dp.IsSupported) paths.Add(BlockGemmPath.AdvSimdDp);
        if (Avx2.IsSupported) paths.Add(BlockGemmPath.Avx2);
        if (AvxVnni.IsSupported) paths.Add(BlockGemmPath.AvxVnni);
        return [.. paths];
    }
}
