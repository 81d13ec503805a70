using Quant.Net.Simd;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace Quant.Net.Tests.Simd;

[Trait("Category", "Kernel")]
public sealed class IsaConfigTests
{
    [Fact]
    public void The_chosen_level_honours_the_runtime_isa_switches()
    {
        var best = IsaConfig.Best.Elementwise;
        TestContext.Current.SendDiagnosticMessage($"ISA config: {IsaConfig.Best}; elementwise levels: {string.Join(", ", IsaConfig.ElementwiseLevels)}");
        if (Environment.GetEnvironmentVariable("DOTNET_EnableHWIntrinsic") == "0") Assert.Equal(SimdLevel.Scalar, best);
        if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX2") == "0") Assert.True(best <= SimdLevel.Vector128, $"got {best}");
        if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0") Assert.True(best <= SimdLevel.Vector256, $"got {best}");
        Assert.Equal(Vector512.IsHardwareAccelerated, best == SimdLevel.Vector512);
        Assert.Equal(SimdLevel.Scalar, IsaConfig.ElementwiseLevels[0]);
        Assert.Equal(best, IsaConfig.ElementwiseLevels[^1]);
    }

    [Fact]
    public void The_expected_level_is_reached_when_the_test_run_demands_it()
    {
        // CI sets QUANTNET_EXPECT_SIMD to the level each rerun must actually run, so a silently lost ISA fails loudly.
        string? expected = Environment.GetEnvironmentVariable("QUANTNET_EXPECT_SIMD");
        if (string.IsNullOrEmpty(expected)) return;
        Assert.Equal(Enum.Parse<SimdLevel>(expected), IsaConfig.Best.Elementwise);
    }

    [Fact]
    public void The_int8_and_block_gemm_paths_are_the_ones_the_test_run_demands()
    {
        // CI sets these per rerun (from the CPU flags and the DOTNET_Enable* switch it applies), so a kernel family that
        // silently falls back to another path fails loudly, not only the elementwise width.
        TestContext.Current.SendDiagnosticMessage($"ISA config: {IsaConfig.Best}");
        if (Environment.GetEnvironmentVariable("QUANTNET_EXPECT_INT8_PATH") is { Length: > 0 } int8)
        {
            Assert.Equal(Enum.Parse<Int8GemmPath>(int8), IsaConfig.Best.Int8Gemm);
        }

        if (Environment.GetEnvironmentVariable("QUANTNET_EXPECT_BLOCK_PATH") is { Length: > 0 } block)
        {
            Assert.Equal(Enum.Parse<BlockGemmPath>(block), IsaConfig.Best.BlockGemm);
        }

        Assert.Equal(IsaConfig.Int8GemmPaths[^1], IsaConfig.Best.Int8Gemm);
        Assert.Equal(IsaConfig.BlockGemmPaths[^1], IsaConfig.Best.BlockGemm);
        Assert.Equal(Int8GemmPath.Scalar, IsaConfig.Int8GemmPaths[0]);
        Assert.Equal(BlockGemmPath.Scalar, IsaConfig.BlockGemmPaths[0]);
    }

    [Fact]
    public void On_arm64_the_advsimd_path_runs_and_the_dot_product_extension_is_as_expected()
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.Arm64) return;
        TestContext.Current.SendDiagnosticMessage($"arm64: AdvSimd={AdvSimd.IsSupported}, Dp={Dp.IsSupported}");
        Assert.True(AdvSimd.IsSupported);
        Assert.Equal(SimdLevel.Vector128, IsaConfig.Best.Elementwise);
        // CI runs QEMU with -cpu max (has SDOT/UDOT) and -cpu cortex-a72 (has not) and says which to expect.
        string? dp = Environment.GetEnvironmentVariable("QUANTNET_EXPECT_ARM_DP");
        if (!string.IsNullOrEmpty(dp)) Assert.Equal(dp == "1", Dp.IsSupported);
    }
}
