using FluentAssertions;

namespace Quant.Net.Onnx.Tests.Architecture;

/// <summary>
/// The layering of DESIGN.md, checked on the source with Roslyn's semantic model (<see cref="SourceGraph"/>): arrows
/// point down only. The core is a stack of folders — Simd at the bottom, then Schemes, Encodings, Primitives, then
/// Observers / Kernels / Analysis, then Layers / Rounding, then Techniques / Training — and a folder may use only lower
/// ones (so kernels never see observers and there are no cycles). The core has no native, ONNX or console dependency;
/// the ONNX adapter writes nothing to the console.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly Lazy<SourceGraph> Core = new(() => SourceGraph.Load("Quant.Net"));
    private static readonly Lazy<SourceGraph> Onnx = new(() => SourceGraph.Load("Quant.Net.Onnx"));

    /// <summary>Rank of each core folder: a folder may use folders of lower rank only.</summary>
    private static readonly Dictionary<string, int> CoreRanks = new()
    {
        ["Simd"] = 0,
        ["Schemes"] = 1,
        ["Encodings"] = 2,
        ["Primitives"] = 3,
        ["Observers"] = 4,
        ["Kernels"] = 4,
        ["Analysis"] = 4,
        ["Layers"] = 5,
        ["Rounding"] = 5,
        ["Techniques"] = 6,
        ["Training"] = 6,
    };

    [Fact]
    public void Every_core_folder_has_a_place_in_the_stack()
    {
        string src = Path.Combine(SourceGraph.RepositoryRoot(), "src", "Quant.Net");
        var folders = Directory.EnumerateDirectories(src).Select(Path.GetFileName).Where(f => f is not ("bin" or "obj")).ToList();
        folders.Should().BeEquivalentTo(CoreRanks.Keys, "a new core folder needs a rank here and a line in the README's layout");
        Directory.EnumerateFiles(src, "*.cs").Should().BeEmpty("core code lives in a folder of the stack");
    }

    [Fact]
    public void Core_folders_use_only_lower_folders()
    {
        var graph = Core.Value;
        graph.Edges.Values.Sum(v => v.Count).Should().BeGreaterThan(15, "the graph must see the core's real dependencies");
        var violations = graph.Edges.SelectMany(e => e.Value.Select(to => (From: e.Key, To: to)))
            .Where(e => !CoreRanks.TryGetValue(e.From, out int a) || !CoreRanks.TryGetValue(e.To, out int b) || b >= a)
            .Select(e => $"{e.From} → {e.To}: {graph.Examples[(e.From, e.To)]}").ToList();
        violations.Should().BeEmpty();
        graph.Cycles().Should().BeEmpty();
    }

    [Fact]
    public void Kernels_never_see_observers_and_the_core_has_no_native_onnx_or_console_dependency()
    {
        var graph = Core.Value;
        graph.Edges.GetValueOrDefault("Kernels", []).Should().NotContain("Observers");
        foreach (var (folder, namespaces) in graph.External.Where(e => !e.Key.EndsWith("/types", StringComparison.Ordinal)))
        {
            namespaces.Should().OnlyContain(n => n == "System" || n.StartsWith("System.", StringComparison.Ordinal), $"core folder {folder} uses the BCL and System.Numerics.Tensors only");
        }

        graph.External.Where(e => e.Key.EndsWith("/types", StringComparison.Ordinal)).SelectMany(e => e.Value)
            .Should().NotContain(t => t == "System.Console" || t.StartsWith("System.Runtime.InteropServices.DllImport", StringComparison.Ordinal));
        typeof(QuantOps).Assembly.GetReferencedAssemblies().Select(a => a.Name!)
            .Should().OnlyContain(n => n.StartsWith("System", StringComparison.Ordinal) || n == "netstandard");
    }

    [Fact]
    public void The_onnx_adapter_writes_nothing_to_the_console_and_its_model_layer_depends_on_nothing_above_it()
    {
        var graph = Onnx.Value;
        graph.External.Where(e => e.Key.EndsWith("/types", StringComparison.Ordinal)).SelectMany(e => e.Value)
            .Should().NotContain(t => t == "System.Console" || t.StartsWith("Spectre.", StringComparison.Ordinal) || t.StartsWith("ScottPlot.", StringComparison.Ordinal));
        graph.Edges.GetValueOrDefault("Protobuf", []).Should().BeEmpty();
        graph.Edges.GetValueOrDefault("Model", []).Should().BeSubsetOf(["Protobuf", SourceGraph.Root]);
        graph.Edges.GetValueOrDefault("Graph", []).Should().BeSubsetOf(["Protobuf", "Model", SourceGraph.Root]);
    }

    /// <summary>
    /// Rank of each ONNX adapter folder, the pipeline's steps bottom-up: the model file, graph rewrites, the deployment
    /// targets, the plan (config, encodings per tensor), calibration, evaluation in ONNX Runtime, the writers, the
    /// techniques that re-run the model, the analysis records; the public entry points sit at the root above all.
    /// </summary>
    private static readonly Dictionary<string, int> OnnxRanks = new()
    {
        ["Protobuf"] = 0,
        ["Model"] = 1,
        ["Graph"] = 2,
        ["Deployment"] = 3,
        ["Planning"] = 4,
        ["Calibration"] = 5,
        ["Evaluation"] = 6,
        ["Writers"] = 7,
        ["Techniques"] = 8,
        ["Analysis"] = 9,
        [SourceGraph.Root] = 10,
    };

    [Fact]
    public void Onnx_adapter_folders_are_the_pipeline_steps_and_use_only_earlier_steps()
    {
        var graph = Onnx.Value;
        string src = Path.Combine(SourceGraph.RepositoryRoot(), "src", "Quant.Net.Onnx");
        Directory.EnumerateDirectories(src).Select(Path.GetFileName).Where(f => f is not ("bin" or "obj"))
            .Should().BeEquivalentTo(OnnxRanks.Keys.Where(k => k != SourceGraph.Root));
        graph.Edges.Values.Sum(v => v.Count).Should().BeGreaterThan(20, "the graph must see the adapter's real dependencies");
        var violations = graph.Edges.SelectMany(e => e.Value.Select(to => (From: e.Key, To: to)))
            .Where(e => OnnxRanks[e.To] >= OnnxRanks[e.From])
            .Select(e => $"{e.From} → {e.To}: {graph.Examples[(e.From, e.To)]}").ToList();
        violations.Should().BeEmpty();
        graph.Cycles().Should().BeEmpty();
    }

    [Theory]
    [InlineData("Quant.Net", "Quant.Net", "Schemes,Encodings,Primitives,Analysis")]
    [InlineData("Quant.Net.Onnx", "Quant.Net.Onnx", "*")]
    [InlineData("Quant.Net.Reports", "Quant.Net.Reports", "*")]
    [InlineData("Quant.Net.Cli", "Quant.Net.Cli", "*")]
    public void Namespaces_follow_the_one_rule_of_the_readme(string project, string root, string rootFolders)
    {
        // Foundation folders (or every folder, "*") share the project's root namespace; any other folder is root.Folder.
        string dir = Path.Combine(SourceGraph.RepositoryRoot(), "src", project);
        var shared = rootFolders == "*" ? null : rootFolders.Split(',').ToHashSet();
        var wrong = new List<string>();
        foreach (var file in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
        {
            var parts = Path.GetRelativePath(dir, file).Split(Path.DirectorySeparatorChar);
            if (parts[0] is "bin" or "obj" or "Protobuf")
            {
                continue;
            }

            string expected = parts.Length == 1 || shared is null || shared.Contains(parts[0]) ? root : $"{root}.{parts[0]}";
            string? actual = File.ReadLines(file).FirstOrDefault(l => l.StartsWith("namespace ", StringComparison.Ordinal))?["namespace ".Length..].TrimEnd(';', ' ');
            if (actual != expected)
            {
                wrong.Add($"{Path.GetRelativePath(dir, file)}: {actual} (expected {expected})");
            }
        }

        wrong.Should().BeEmpty();
    }
}
