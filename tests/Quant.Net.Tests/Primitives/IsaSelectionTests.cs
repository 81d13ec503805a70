using Quant.Net.Simd;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace Quant.Net.Tests.Primitives;

[Trait("Category", "Kernel")]
public sealed class IsaSelectionTests
{
    [Fact]
    public void The_chosen_level_honours_the_runtime_isa_switches()
    {
        var best = SimdConfig.Best;
        TestContext.Current.SendDiagnosticMessage($"SIMD level: {best}; supported: {string.Join(", ", SimdConfig.Supported)}");
        if (Environment.GetEnvironmentVariable("DOTNET_EnableHWIntrinsic") == "0") Assert.Equal(SimdLevel.Scalar, best);
        if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX2") == "0") Assert.True(best <= SimdLevel.Vector128, $"got {best}");
        if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0") Assert.True(best <= SimdLevel.Vector256, $"got {best}");
        Assert.Equal(Vector512.IsHardwareAccelerated, best == SimdLevel.Vector512);
        Assert.Equal(SimdLevel.Scalar, SimdConfig.Supported[0]);
        Assert.Equal(best, SimdConfig.Supported[^1]);
    }

    [Fact]
    public void The_expected_level_is_reached_when_the_test_run_demands_it()
    {
        // CI sets QUANTNET_EXPECT_SIMD to the level each rerun must actually run, so a silently lost ISA fails loudly.
        string? expected = Environment.GetEnvironmentVariable("QUANTNET_EXPECT_SIMD");
        if (string.IsNullOrEmpty(expected)) return;
        Assert.Equal(Enum.Parse<SimdLevel>(expected), SimdConfig.Best);
    }

    [Fact]
    public void On_arm64_the_advsimd_path_runs_and_the_dot_product_extension_is_as_expected()
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.Arm64) return;
        TestContext.Current.SendDiagnosticMessage($"arm64: AdvSimd={AdvSimd.IsSupported}, Dp={Dp.IsSupported}");
        Assert.True(AdvSimd.IsSupported);
        Assert.Equal(SimdLevel.Vector128, SimdConfig.Best);
        // CI runs QEMU with -cpu max (has SDOT/UDOT) and -cpu cortex-a72 (has not) and says which to expect.
        string? dp = Environment.GetEnvironmentVariable("QUANTNET_EXPECT_ARM_DP");
        if (!string.IsNullOrEmpty(dp)) Assert.Equal(dp == "1", Dp.IsSupported);
    }
}
