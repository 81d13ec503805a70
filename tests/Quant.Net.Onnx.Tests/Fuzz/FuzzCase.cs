namespace Quant.Net.Onnx.Tests.Fuzz;

/// <summary>What a generated case is allowed to end in, beyond the checks every case gets.</summary>
internal enum FuzzExpect
{
    /// <summary>Malformed or random input: a clean refusal (exit 1 or 2) or success are both fine.</summary>
    Anything,

    /// <summary>Input the generator knows is semantically bad (NaN weights, all-NaN samples, …): refused, or accepted with a warning line; never accepted silently.</summary>
    RefuseOrWarn,

    /// <summary>A usage error the generator injected (unknown option, missing value, value outside the choices): exit code 2.</summary>
    Usage,

    /// <summary>A control case built from valid inputs: exit code 0 (proves the generator reaches the success path).</summary>
    Success,
}

/// <summary>How a case is run.</summary>
internal enum FuzzRoute
{
    /// <summary><c>Program.Run</c> in this process on a thread of its own, with separate output and error consoles.</summary>
    InProcess,

    /// <summary>The <c>quant</c> tool in a child process killed at the time limit (endless devices, damaged images, FIFOs).</summary>
    ChildProcess,

    /// <summary>A library call; only the exception types its XML docs name may escape.</summary>
    Api,
}

/// <summary>
/// What a case does once its folder exists: the command line (CLI routes) or the call (API route), the paths a success
/// may create (relative to the case folder; a folder entry covers everything under it), and the working folder of a
/// child process.
/// </summary>
internal sealed record FuzzInvocation
{
    /// <summary>The command line, for the CLI routes.</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>The library call, for <see cref="FuzzRoute.Api"/>.</summary>
    public Action? Call { get; init; }

    /// <summary>Files (relative to the case folder) a successful run may create or replace.</summary>
    public IReadOnlyList<string> Outputs { get; init; } = [];

    /// <summary>Folders (relative to the case folder) a successful run may add entries under (report folders).</summary>
    public IReadOnlyList<string> ReportFolders { get; init; } = [];

    /// <summary>Exception types the call's XML docs name (API route): these and their subclasses may escape.</summary>
    public IReadOnlyList<Type> Documented { get; init; } = [];

    /// <summary>What the setup chose (options and faults), for the failure report.</summary>
    public string Note { get; init; } = "";

    /// <summary>What the result may be, when the setup (random options) decides it; else the case's own expectation.</summary>
    public FuzzExpect? Expect { get; init; }

    /// <summary>Working folder of a child process (the case folder when null), so default report folders land inside it.</summary>
    public string? WorkingDirectory { get; init; }

}

/// <summary>The folder a case writes its inputs into, with the case's random numbers and the FIFOs it made (never opened by snapshots; released after the run).</summary>
internal sealed class CaseFolder(string root, Random random)
{
    public string Root { get; } = root;

    public Random Random { get; } = random;

    public List<string> Fifos { get; } = [];

    /// <summary>A path under the case folder.</summary>
    public string At(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>A folder under the case folder, created.</summary>
    public string Folder(params string[] parts) => Directory.CreateDirectory(At(parts)).FullName;

    /// <summary>A FIFO at <paramref name="path"/>; false when FIFOs cannot be made here.</summary>
    public bool Fifo(string path)
    {
        if (!FuzzFiles.MakeFifo(path))
        {
            return false;
        }

        Fifos.Add(Path.GetFullPath(path));
        return true;
    }
}

/// <summary>
/// One generated case: a stable id (<c>F0042</c>) and a description naming what was generated, printed on failure so the
/// case can be rerun alone (<c>QUANT_FUZZ_CASE=F0042</c>); the setup writes the inputs into the case folder and returns
/// the invocation. All randomness comes from <see cref="Seed"/>.
/// </summary>
/// <param name="Id">Stable id, from the case's position in the generated list.</param>
/// <param name="Description">What the case feeds the tool (command, model mutation, calibration kind, options).</param>
/// <param name="Route">In process, child process or API.</param>
/// <param name="Expect">What the result may be.</param>
/// <param name="Seed">Seed of the case's own random numbers.</param>
/// <param name="Setup">Writes the inputs into the case folder and returns the invocation.</param>
internal sealed record FuzzCase(string Id, string Description, FuzzRoute Route, FuzzExpect Expect, int Seed, Func<CaseFolder, FuzzInvocation> Setup)
{
    public override string ToString() => $"{Id} [{Route}, expect {Expect}, seed {Seed}] {Description}";
}
