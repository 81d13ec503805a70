using System.Diagnostics;
using Quant.Net.Cli;
using Quant.Net.Onnx.Tests.Support;
using Spectre.Console;

namespace Quant.Net.Onnx.Tests.Fuzz;

/// <summary>How a case ended, before the problems are counted.</summary>
internal enum FuzzVerdict
{
    /// <summary>Exit code 1 or 2 (or a documented exception) with a clean one-line message.</summary>
    CleanError,

    /// <summary>Exit code 0 (or the call returned) with no warning line.</summary>
    Accepted,

    /// <summary>Exit code 0 with at least one <c>warning:</c> line.</summary>
    AcceptedWithWarning,

    /// <summary>Anything else: an escaped exception, an exit code outside 0–2, a kill at the time limit.</summary>
    Broken,
}

/// <summary>The problem kinds the suite counts; any of them fails the test.</summary>
internal enum FuzzProblem
{
    Crash,
    Hang,
    ModifiedInput,
    PartialOutput,
    RawMessage,
    SilentAcceptance,
    WrongExitCode,
}

/// <summary>The result of one case: verdict, problems found (each with a sentence), exit code, streams and time.</summary>
internal sealed record FuzzResult(FuzzCase Case, FuzzInvocation Invocation, FuzzExpect Expect, FuzzVerdict Verdict, IReadOnlyList<(FuzzProblem Kind, string Detail)> Problems, int? Code, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public override string ToString() =>
        $"{Case} → expect {Expect}, {Verdict}, exit {Code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, {Elapsed.TotalSeconds:F1} s\n"
        + (Invocation.Note.Length > 0 ? $"    setup: {Invocation.Note}\n" : "")
        + (Invocation.Args.Count > 0 ? $"    quant {string.Join(' ', Invocation.Args.Select(a => a.Length == 0 || a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a))}\n" : "")
        + string.Concat(Problems.Select(p => $"    {p.Kind}: {p.Detail}\n"))
        + (Stderr.Length > 0 ? $"    stderr: {Clip(Stderr)}\n" : "")
        + (Stdout.Length > 0 && Problems.Count > 0 ? $"    stdout: {Clip(Stdout)}\n" : "");

    private static string Clip(string text) => (text.Length > 1500 ? text[..1500] + "…" : text).ReplaceLineEndings("\n      ");
}

/// <summary>
/// Runs a case in its own folder and checks it: exit code, one-line <c>error:</c> message on standard error with no
/// stack trace or raw framework/ONNX Runtime text, inputs unchanged (SHA-256 of every entry before and after), no stray
/// files (none on failure; only the declared outputs on success), and completion within the time limit.
/// </summary>
internal static class FuzzRunner
{
    /// <summary>Fragments that only raw exception text, stack traces or ONNX Runtime internals contain.</summary>
    private static readonly string[] RawFragments =
    [
        "   at ", "Unhandled exception", "(Parameter '", "Exception of type", ".cc:", "onnxruntime::", "System.", "Object reference not set",
        "Index was outside", "Specified argument was out of the range", "Arithmetic operation resulted in an overflow", "Value cannot be null",
        "Unable to cast", "Input string was not in a correct format", "Sequence contains", "The given key", "[E:onnxruntime", "[W:onnxruntime",
    ];

    /// <summary>Runs <paramref name="fuzzCase"/> in <paramref name="folder"/> (created, and deleted afterwards).</summary>
    public static FuzzResult Run(FuzzCase fuzzCase, string folder, TimeSpan timeout)
    {
        Directory.CreateDirectory(folder);
        var c = new CaseFolder(folder, new Random(fuzzCase.Seed));
        var invocation = fuzzCase.Setup(c);
        var expect = invocation.Expect ?? fuzzCase.Expect;
        var before = FolderSnapshot.Take(folder, c.Fifos);
        var clock = Stopwatch.StartNew();
        var (code, stdout, stderr, escaped, finished) = fuzzCase.Route switch
        {
            FuzzRoute.InProcess => InProcess(invocation.Args, timeout),
            FuzzRoute.ChildProcess => Child(invocation, folder, timeout),
            _ => Api(invocation.Call!, timeout),
        };
        clock.Stop();
        foreach (var fifo in c.Fifos)
        {
            FuzzFiles.ReleaseFifo(fifo);
        }

        var problems = new List<(FuzzProblem, string)>();
        FuzzVerdict verdict;
        if (!finished)
        {
            problems.Add((FuzzProblem.Hang, $"did not finish within {timeout.TotalSeconds:0} s"));
            verdict = FuzzVerdict.Broken;
        }
        else if (fuzzCase.Route == FuzzRoute.Api)
        {
            verdict = escaped is null ? FuzzVerdict.Accepted : FuzzVerdict.CleanError;
            if (escaped is not null && !invocation.Documented.Any(t => t.IsInstanceOfType(escaped)))
            {
                problems.Add((FuzzProblem.Crash, $"undocumented {escaped.GetType().Name}: {escaped.Message}\n{escaped.StackTrace}"));
                verdict = FuzzVerdict.Broken;
            }
            else if (escaped is not null && RawFragments.FirstOrDefault(f => escaped.Message.Contains(f, StringComparison.Ordinal)
                && !(f == "(Parameter '" && escaped is ArgumentException)) is { } raw)   // .NET's own form of an argument exception naming its parameter
            {
                problems.Add((FuzzProblem.RawMessage, $"{escaped.GetType().Name} message holds raw text '{raw}': {escaped.Message}"));
            }
        }
        else
        {
            verdict = CheckCli(code, stdout, stderr, escaped, problems);
        }

        Expectations(expect, verdict, code, problems);
        if (finished)
        {
            Files(before, FolderSnapshot.Take(folder, c.Fifos), invocation, verdict, problems);
        }

        return new FuzzResult(fuzzCase, invocation, expect, verdict, problems, code, stdout, stderr, clock.Elapsed);
    }

    private static FuzzVerdict CheckCli(int? code, string stdout, string stderr, Exception? escaped, List<(FuzzProblem, string)> problems)
    {
        if (escaped is not null)
        {
            problems.Add((FuzzProblem.Crash, $"{escaped.GetType().Name} escaped Program.Run: {escaped.Message}\n{escaped.StackTrace}"));
            return FuzzVerdict.Broken;
        }

        if (code is not (0 or 1 or 2))
        {
            problems.Add((FuzzProblem.Crash, $"exit code {code} (the README documents 0, 1 and 2)"));
            return FuzzVerdict.Broken;
        }

        var errorLines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (RawFragments.FirstOrDefault(f => stderr.Contains(f, StringComparison.Ordinal)) is { } raw)
        {
            problems.Add((FuzzProblem.RawMessage, $"standard error holds raw text '{raw}'"));
        }

        if (code == 0)
        {
            if (errorLines.Any(l => l.StartsWith("error:", StringComparison.Ordinal)))
            {
                problems.Add((FuzzProblem.RawMessage, "exit code 0 with an error line"));
            }

            bool warned = (stdout + "\n" + stderr).Split('\n').Any(l => l.TrimStart().StartsWith("warning:", StringComparison.Ordinal));
            return warned ? FuzzVerdict.AcceptedWithWarning : FuzzVerdict.Accepted;
        }

        if (errorLines.Length != 1 || !errorLines[0].StartsWith("error: ", StringComparison.Ordinal))
        {
            problems.Add((FuzzProblem.RawMessage, $"exit code {code} without exactly one 'error: ' line on standard error ({errorLines.Length} lines)"));
        }

        if (stdout.Contains("error:", StringComparison.Ordinal))
        {
            problems.Add((FuzzProblem.RawMessage, "an error on standard output"));
        }

        return FuzzVerdict.CleanError;
    }

    private static void Expectations(FuzzExpect expect, FuzzVerdict verdict, int? code, List<(FuzzProblem, string)> problems)
    {
        if (verdict == FuzzVerdict.Broken)
        {
            return;
        }

        switch (expect)
        {
            case FuzzExpect.RefuseOrWarn when verdict == FuzzVerdict.Accepted:
                problems.Add((FuzzProblem.SilentAcceptance, "known-bad input accepted with no warning"));
                break;
            case FuzzExpect.Usage when code is not null and not 2:
                problems.Add((FuzzProblem.WrongExitCode, $"a usage fault in valid inputs gave exit code {code}, not 2"));
                break;
            case FuzzExpect.Success when verdict == FuzzVerdict.CleanError:
                problems.Add((FuzzProblem.WrongExitCode, "valid input refused"));
                break;
        }
    }

    private static void Files(FolderSnapshot before, FolderSnapshot after, FuzzInvocation invocation, FuzzVerdict verdict, List<(FuzzProblem, string)> problems)
    {
        bool success = verdict is FuzzVerdict.Accepted or FuzzVerdict.AcceptedWithWarning;
        bool IsOutput(string path) => success && invocation.Outputs.Contains(path, StringComparer.Ordinal);
        bool UnderReport(string path) => success && invocation.ReportFolders.Any(f => path == f || path.StartsWith(f + Path.DirectorySeparatorChar, StringComparison.Ordinal));
        bool OnOutputPath(string path) => success && invocation.Outputs.Concat(invocation.ReportFolders).Any(o => o.StartsWith(path + Path.DirectorySeparatorChar, StringComparison.Ordinal));

        var changed = before.ChangedIn(after).Where(p => !IsOutput(p)).ToList();
        if (changed.Count > 0)
        {
            problems.Add((FuzzProblem.ModifiedInput, $"changed or removed: {string.Join(", ", changed)}"));
        }

        var added = before.AddedIn(after).Where(p => !IsOutput(p) && !UnderReport(p) && !OnOutputPath(p)).ToList();
        if (added.Count > 0)
        {
            problems.Add((FuzzProblem.PartialOutput, $"{(success ? "undeclared" : "left after a failure")}: {string.Join(", ", added)}"));
        }
    }

    private static (int? Code, string Stdout, string Stderr, Exception? Escaped, bool Finished) InProcess(IReadOnlyList<string> args, TimeSpan timeout)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        int? code = null;
        Exception? escaped = null;
        var thread = new Thread(() =>
        {
            try
            {
                code = Program.Run(PlainConsole(output), [.. args], PlainConsole(errors));
            }
            catch (Exception e)
            {
                escaped = e;
            }
        }) { IsBackground = true, Name = "fuzz case" };
        thread.Start();
        bool finished = thread.Join(timeout);
        return finished ? (code, output.ToString(), errors.ToString(), escaped, true) : (null, "", "", null, false);
    }

    /// <summary>A console as the tool's is when piped: no colour, no ANSI, lines not wrapped.</summary>
    private static IAnsiConsole PlainConsole(StringWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 4096;
        return console;
    }

    private static (int? Code, string Stdout, string Stderr, Exception? Escaped, bool Finished) Child(FuzzInvocation invocation, string folder, TimeSpan timeout)
    {
        var (code, stdout, stderr) = CliProcess.RunBounded(timeout, invocation.WorkingDirectory ?? folder, invocation.Args);
        return (code, stdout, stderr, null, code is not null);
    }

    private static (int? Code, string Stdout, string Stderr, Exception? Escaped, bool Finished) Api(Action call, TimeSpan timeout)
    {
        Exception? escaped = null;
        var thread = new Thread(() =>
        {
            try
            {
                call();
            }
            catch (Exception e)
            {
                escaped = e;
            }
        }) { IsBackground = true, Name = "fuzz call" };
        thread.Start();
        bool finished = thread.Join(timeout);
        return (null, "", "", escaped, finished);
    }
}
