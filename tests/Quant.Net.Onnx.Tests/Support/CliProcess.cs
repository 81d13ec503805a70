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
        var start = StartInfo(args);

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

    /// <summary>
    /// Runs the CLI in <paramref name="workingDirectory"/> and kills it (with its children) when it has not finished
    /// within <paramref name="timeout"/>: a hang is reported, never waited out.
    /// </summary>
    /// <returns>The exit code (null after a kill), standard output and standard error.</returns>
    public static (int? Code, string Stdout, string Stderr) RunBounded(TimeSpan timeout, string workingDirectory, IReadOnlyList<string> args)
    {
        var start = StartInfo(args);
        start.WorkingDirectory = workingDirectory;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (null, stdout.Result, stderr.Result);
        }

        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        string dotnet = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet"));
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "quant.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }
}
