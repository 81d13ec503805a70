using System.Text.RegularExpressions;
using FluentAssertions;
using Quant.Net.Onnx.Tests.Architecture;

namespace Quant.Net.Onnx.Tests.Readme;

/// <summary>
/// Every C# block of the README is an excerpt of a sample program (samples/*), which the solution builds with warnings as
/// errors and CI runs: the block's first line names the file (<c>// from samples/X/Program.cs</c>) and the rest appears
/// in it as contiguous lines, each compared trimmed, blank lines ignored. So no README snippet can stop compiling, or
/// use a variable nobody declared, without this test or the build failing. The README's Samples section lists every
/// sample with its run command, the solution builds each, and .ci/run runs each.
/// </summary>
public sealed partial class ReadmeSnippetTests
{
    private static readonly string Root = SourceGraph.RepositoryRoot();

    [Fact]
    public void Every_csharp_block_of_the_readme_is_an_excerpt_of_the_sample_it_names()
    {
        var blocks = CsharpBlocks(File.ReadAllLines(Path.Combine(Root, "README.md")));
        blocks.Should().HaveCountGreaterThanOrEqualTo(10, "the README shows the core, observers, ONNX quantization, kernels, layers, weight-only, PTQ techniques, QAT and analysis in C#");
        foreach (var (firstLine, lines) in blocks)
        {
            var source = SourceLine().Match(lines[0].Trim());
            source.Success.Should().BeTrue($"the C# block at README line {firstLine} must start with '// from samples/NAME/FILE.cs' naming the sample it is taken from, not '{lines[0].Trim()}'");
            string path = Path.Combine(Root, source.Groups[1].Value);
            File.Exists(path).Should().BeTrue($"the C# block at README line {firstLine} names {source.Groups[1].Value}");

            var excerpt = Normalize(lines.Skip(1).Select((text, i) => (Line: firstLine + 1 + i, Text: text)));
            var file = Normalize(File.ReadAllLines(path).Select((text, i) => (Line: i + 1, Text: text)));
            excerpt.Should().NotBeEmpty($"the C# block at README line {firstLine} has code after its first line");
            int matched = LongestContiguousMatch(excerpt.Select(l => l.Text).ToList(), file.Select(l => l.Text).ToList());
            if (matched < excerpt.Count)
            {
                var missing = excerpt[matched];
                Assert.Fail($"README line {missing.Line} is not in {source.Groups[1].Value} where the C# block at README line {firstLine} says it is: '{missing.Text}' "
                    + (matched == 0 ? "(no line of the file reads so)." : $"(the {matched} code line(s) before it are consecutive lines of the file, but it does not follow them)."));
            }
        }
    }

    [Fact]
    public void The_readme_lists_every_sample_with_its_run_command_and_ci_builds_and_runs_each()
    {
        var samples = Directory.EnumerateDirectories(Path.Combine(Root, "samples"))
            .Where(d => Directory.EnumerateFiles(d, "*.csproj").Any()).Select(d => Path.GetFileName(d)!).Order().ToList();
        samples.Should().HaveCountGreaterThanOrEqualTo(4, "one sample per user task: quantize an ONNX model, layers in app code, QAT, analysis and mixed precision");
        var readme = File.ReadAllLines(Path.Combine(Root, "README.md"));
        int start = Array.IndexOf(readme, "## Samples");
        start.Should().BeGreaterThanOrEqualTo(0, "the README has a '## Samples' section");
        var section = readme.Skip(start + 1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal)).ToList();
        string solution = File.ReadAllText(Path.Combine(Root, "Quant.Net.sln"));
        var ci = File.ReadAllLines(Path.Combine(Root, ".ci", "run"));
        foreach (string sample in samples)
        {
            section.Where(l => l.Contains($"dotnet run --project samples/{sample}", StringComparison.Ordinal)).Should().ContainSingle(
                $"the Samples section has one line for samples/{sample}, with what it shows and its 'dotnet run --project samples/{sample}' command");
            solution.Should().Contain($"samples\\{sample}\\{sample}.csproj", $"the solution builds samples/{sample} (warnings as errors)");
            ci.Any(l => l == $"sample {sample}" || l.StartsWith($"sample {sample} ", StringComparison.Ordinal)).Should().BeTrue(
                $".ci/run runs samples/{sample} (a line 'sample {sample} [ARGUMENTS]', which counts it as one test)");
        }

        foreach (Match named in SampleName().Matches(string.Join('\n', section)))
        {
            samples.Should().Contain(named.Groups[1].Value, "every sample the Samples section names exists");
        }
    }

    /// <summary>The ```csharp blocks of a Markdown file: the README line number of each block's first line, and its lines.</summary>
    private static List<(int FirstLine, List<string> Lines)> CsharpBlocks(string[] markdown)
    {
        var blocks = new List<(int, List<string>)>();
        for (int i = 0; i < markdown.Length; i++)
        {
            if (markdown[i].Trim() == "```csharp")
            {
                int end = Array.FindIndex(markdown, i + 1, l => l.Trim() == "```");
                end.Should().BePositive($"the C# block opened at README line {i + 1} is closed");
                blocks.Add((i + 2, markdown[(i + 1)..end].ToList()));
                i = end;
            }
        }

        return blocks;
    }

    /// <summary>Trims every line and drops blank ones, keeping each line's number.</summary>
    private static List<(int Line, string Text)> Normalize(IEnumerable<(int Line, string Text)> lines) =>
        [.. lines.Select(l => (l.Line, l.Text.Trim())).Where(l => l.Item2.Length > 0)];

    /// <summary>The most leading lines of <paramref name="excerpt"/> found as consecutive lines somewhere in <paramref name="file"/>.</summary>
    private static int LongestContiguousMatch(List<string> excerpt, List<string> file)
    {
        int best = 0;
        for (int start = 0; start < file.Count && best < excerpt.Count; start++)
        {
            int n = 0;
            while (n < excerpt.Count && start + n < file.Count && file[start + n] == excerpt[n])
            {
                n++;
            }

            best = Math.Max(best, n);
        }

        return best;
    }

    [GeneratedRegex(@"^// from (samples/[A-Za-z0-9_./-]+\.cs)$")]
    private static partial Regex SourceLine();

    [GeneratedRegex(@"samples/([A-Za-z0-9_]+)")]
    private static partial Regex SampleName();
}
