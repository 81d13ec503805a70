using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Quant.Net.Onnx.Tests.Architecture;

/// <summary>
/// The folder-level dependency graph of one source project, read with Roslyn's semantic model: every name in a file
/// that binds to a type declared in another folder of the same project is an edge between the two folders (first
/// folder below the project; files at the root belong to "(root)"). External types are recorded by namespace.
/// Exact where a using-based scan is blind (folders sharing a namespace, references by simple name).
/// </summary>
internal sealed class SourceGraph
{
    public const string Root = "(root)";

    private SourceGraph(string project, Dictionary<string, HashSet<string>> edges, Dictionary<string, HashSet<string>> external,
        Dictionary<(string From, string To), string> examples)
    {
        Project = project;
        Edges = edges;
        External = external;
        Examples = examples;
    }

    public string Project { get; }

    /// <summary>Folder → folders it uses.</summary>
    public IReadOnlyDictionary<string, HashSet<string>> Edges { get; }

    /// <summary>Folder → namespaces of external types it uses; "Folder/types" → their full names.</summary>
    public IReadOnlyDictionary<string, HashSet<string>> External { get; }

    /// <summary>One file and type behind each edge, for messages.</summary>
    public IReadOnlyDictionary<(string From, string To), string> Examples { get; }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Quant.Net.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (Quant.Net.sln) is not above the test binaries.");
    }

    public static SourceGraph Load(string project)
    {
        string dir = Path.Combine(RepositoryRoot(), "src", project);
        var files = Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        var options = new CSharpParseOptions(LanguageVersion.Preview);
        var trees = files.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), options, f)).ToList();
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll"))
            .Where(p => !Path.GetFileName(p).StartsWith(project + ".", StringComparison.Ordinal) && Path.GetFileName(p) != project + ".dll")
            .GroupBy(Path.GetFileName).Select(g => MetadataReference.CreateFromFile(g.First()));
        var compilation = CSharpCompilation.Create(project, trees, references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        string Folder(string file)
        {
            var relative = Path.GetRelativePath(dir, file).Split(Path.DirectorySeparatorChar);
            return relative.Length == 1 ? Root : relative[0];
        }

        var edges = new Dictionary<string, HashSet<string>>();
        var external = new Dictionary<string, HashSet<string>>();
        var examples = new Dictionary<(string, string), string>();
        foreach (var tree in trees)
        {
            string from = Folder(tree.FilePath);
            var model = compilation.GetSemanticModel(tree);
            foreach (var name in tree.GetRoot().DescendantNodes().OfType<SimpleNameSyntax>())
            {
                if (name.Ancestors().Any(a => a is UsingDirectiveSyntax or DocumentationCommentTriviaSyntax))
                {
                    continue;
                }

                var symbol = model.GetSymbolInfo(name).Symbol;
                var type = symbol as INamedTypeSymbol ?? symbol?.ContainingType;
                for (var t = type; t is not null; t = t.ContainingType)
                {
                    type = t;   // the outermost type decides the file
                }

                if (type is null)
                {
                    continue;
                }

                var declaration = type.DeclaringSyntaxReferences.FirstOrDefault();
                if (declaration is not null)
                {
                    string to = Folder(declaration.SyntaxTree.FilePath);
                    if (to != from && (edges.TryGetValue(from, out var set) ? set : edges[from] = []).Add(to))
                    {
                        examples[(from, to)] = $"{Path.GetRelativePath(dir, tree.FilePath)} uses {type.Name}";
                    }
                }
                else if (type.ContainingNamespace is { IsGlobalNamespace: false } ns)
                {
                    (external.TryGetValue(from, out var set) ? set : external[from] = []).Add(ns.ToDisplayString());
                    (external.TryGetValue(from + "/types", out var types) ? types : external[from + "/types"] = []).Add(type.ToDisplayString());
                }
            }
        }

        return new SourceGraph(project, edges, external, examples);
    }

    /// <summary>Every cycle's folders (strongly connected components of more than one folder).</summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        var nodes = Edges.Keys.Concat(Edges.Values.SelectMany(v => v)).Distinct().ToList();
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<IReadOnlyList<string>>();
        int counter = 0;
        void Visit(string v)
        {
            index[v] = low[v] = counter++;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in Edges.TryGetValue(v, out var next) ? next : [])
            {
                if (!index.TryGetValue(w, out int wIndex))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], wIndex);
                }
            }

            if (low[v] == index[v])
            {
                var component = new List<string>();
                string w;
                do
                {
                    w = stack.Pop();
                    onStack.Remove(w);
                    component.Add(w);
                }
                while (w != v);
                if (component.Count > 1)
                {
                    component.Sort(StringComparer.Ordinal);
                    result.Add(component);
                }
            }
        }

        foreach (var n in nodes.Where(n => !index.ContainsKey(n)))
        {
            Visit(n);
        }

        return result;
    }

    public string Describe(IEnumerable<string> folders)
    {
        var set = folders.ToHashSet();
        return string.Join("; ", Examples.Where(e => set.Contains(e.Key.From) && set.Contains(e.Key.To)).Select(e => $"{e.Key.From} → {e.Key.To} ({e.Value})"));
    }
}
