using System.Diagnostics;
using System.Runtime.InteropServices;
using FluentAssertions;

namespace Quant.Net.Onnx.Tests.Support;

/// <summary>Runs the `quant` command in a child process (for memory limits, and for failures that leave a thread behind).</summary>
internal static class CliProcess
{
    /// <param name="heapLimit">The child's GC heap hard limit in bytes, or null for none.</param>
    /// <param name="args">The command line.</param>
    public static (int Code, string Output) Run(long? heapLimit, params string[] args)
    {
        var (code, stdout, stderr) = RunSplit(heapLimit, args);
        return (code, stdout + stderr);
    }

    /// <summary>As <see cref="Run"/>, with standard output and standard error apart.</summary>
    public static (int Code, string Stdout, string Stderr) RunSplit(long? heapLimit, params string[] args)
    {
        string dotnet = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet"));
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "quant.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        if (heapLimit is { } limit)
        {
            start.Environment["DOTNET_GCHeapHardLimit"] = limit.ToString("X", System.Globalization.CultureInfo.InvariantCulture);
            start.Environment["DOTNET_gcServer"] = "0";
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit(300_000).Should().BeTrue("the CLI finishes");
        return (process.ExitCode, stdout, stderr.Result);
    }
}
