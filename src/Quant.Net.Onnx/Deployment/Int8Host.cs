using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Quant.Net.Onnx;

/// <summary>
/// The int8 arithmetic of this machine's ONNX Runtime CPU kernels, read from the processor (CPUID, as ONNX Runtime's
/// MLAS reads it; the runtime's <c>DOTNET_Enable*</c> switches do not affect native code and are ignored here).
/// </summary>
public static class Int8Host
{
    private static readonly Lazy<(bool Saturates, string Description)> Detected = new(Detect);

    /// <summary>True when ONNX Runtime's u8s8 kernels here add pairs of products into a saturating int16 (x86 without VNNI).</summary>
    public static bool Saturates => Detected.Value.Saturates;

    /// <summary>A short description of the int8 path, e.g. "x86 AVX2 without VNNI (u8×s8 pair sums saturate at int16)".</summary>
    public static string Description => Detected.Value.Description;

    /// <summary>The deployment target matching this host.</summary>
    public static DeploymentTarget Target => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.Arm64 => DeploymentTarget.Arm64,
        _ when Saturates => DeploymentTarget.X86Avx2,
        Architecture.X64 => DeploymentTarget.X86Vnni,
        _ => DeploymentTarget.Portable,
    };

    private static (bool, string) Detect()
    {
        if (RuntimeInformation.ProcessArchitecture == Architecture.Arm64)
        {
            return (false, "ARM64 (exact int32 accumulation)");
        }

        if (!X86Base.IsSupported)
        {
            return (false, $"{RuntimeInformation.ProcessArchitecture} (exact int32 accumulation assumed)");
        }

        var (_, ebx7, ecx7, _) = X86Base.CpuId(7, 0);
        var (eax71, _, _, _) = X86Base.CpuId(7, 1);
        bool avx2 = (ebx7 & (1 << 5)) != 0;
        bool avx512bw = (ebx7 & (1 << 30)) != 0 && (ebx7 & (1 << 16)) != 0;
        bool avx512Vnni = avx512bw && (ecx7 & (1 << 11)) != 0;
        bool avxVnni = avx2 && (eax71 & (1 << 4)) != 0;
        if (avx512Vnni || avxVnni)
        {
            return (false, $"x86 {(avx512Vnni ? "AVX-512 VNNI" : "AVX-VNNI")} (exact int32 accumulation)");
        }

        if (avx2 || avx512bw)
        {
            return (true, $"x86 {(avx512bw ? "AVX-512" : "AVX2")} without VNNI (u8×s8 pair sums saturate at int16)");
        }

        // Without AVX2, MLAS widens to int16 before multiplying (exact) except in its MSVC-built SSE4.1 kernel (Windows).
        bool windowsSse41 = OperatingSystem.IsWindows() && Sse41.IsSupported;
        return windowsSse41 ? (true, "x86 SSE4.1 on Windows (u8×s8 pair sums saturate at int16)") : (false, "x86 SSE (exact int32 accumulation)");
    }
}
