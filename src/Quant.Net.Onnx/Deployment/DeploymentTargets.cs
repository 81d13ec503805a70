using System.Reflection;
using System.Text.Json.Serialization;

namespace Quant.Net.Onnx;

/// <summary>Names of <see cref="DeploymentTarget"/> values as the CLI and the JSON config spell them (<c>x86-avx2</c>).</summary>
public static class DeploymentTargets
{
    private static readonly (DeploymentTarget Target, string Name)[] Table =
        [.. Enum.GetValues<DeploymentTarget>().Select(t => (t, typeof(DeploymentTarget).GetField(t.ToString())!.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()!.Name))];

    /// <summary>Every target name, in declaration order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Table.Select(t => t.Name)];

    /// <summary>The name of <paramref name="target"/> (<c>portable</c>, <c>x86-avx2</c>, <c>x86-vnni</c>, <c>arm64</c>, <c>qnn-htp</c>).</summary>
    public static string NameOf(DeploymentTarget target) =>
        Table.FirstOrDefault(t => t.Target == target).Name ?? throw new ArgumentOutOfRangeException(nameof(target), target, "Unknown deployment target.");

    /// <summary>Parses a target name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is not a target; the message lists the valid ones.</exception>
    public static DeploymentTarget Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var (target, n) in Table)
        {
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
            {
                return target;
            }
        }

        throw new ArgumentException($"unknown target '{name}'; valid targets: {string.Join(", ", Names)}.", nameof(name));
    }

    /// <summary>True when the target's int8 kernels accumulate exactly however large the weights (VNNI, ARM64, HTP).</summary>
    public static bool AccumulatesExactly(DeploymentTarget target) => target is DeploymentTarget.X86Vnni or DeploymentTarget.Arm64 or DeploymentTarget.QnnHtp;

    /// <summary>
    /// Whether symmetric 8- and 16-bit weights use the narrow range [−127, 127] on this target when the config does not
    /// say (<see cref="QuantizationConfig.StrictSymmetricWeights"/> null): true for ONNX Runtime's targets, false for
    /// <see cref="DeploymentTarget.QnnHtp"/> (AIMET's and QNN's default, offset −128).
    /// </summary>
    public static bool DefaultStrictSymmetric(DeploymentTarget target) => target != DeploymentTarget.QnnHtp;
}
