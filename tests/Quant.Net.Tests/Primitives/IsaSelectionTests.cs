using System.Runtime.Intrinsics;

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
}
