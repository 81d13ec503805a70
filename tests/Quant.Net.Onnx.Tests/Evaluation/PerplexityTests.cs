using FluentAssertions;
using Quant.Net.Onnx.Tests.Support;
using DataType = Quant.Net.Onnx.Protobuf.TensorProto.Types.DataType;

namespace Quant.Net.Onnx.Tests.Onnx;

/// <summary>Perplexity of a causal language model, in the library and through <c>quant eval-lm</c>.</summary>
public sealed class PerplexityTests : IDisposable
{
    private const int Vocabulary = 7;
    private readonly string _dir = Directory.CreateTempSubdirectory("quant-lm-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A bigram model: logits[t] = table[input_ids[t]] (a Gather from a [V, V] table), with the table itself.</summary>
    private static (OnnxModel Model, float[] Table) Bigram(int seed, float scale = 1f)
    {
        var random = new Random(seed);
        var table = Enumerable.Range(0, Vocabulary * Vocabulary).Select(_ => (float)((random.NextDouble() - 0.5) * 4 * scale)).ToArray();
        var g = new GraphBuilder(13, seed: seed);
        g.Graph.Input.Add(GraphBuilder.ValueInfo("input_ids", DataType.Int64, [1, -1]));
        g.Graph.Initializer.Add(TensorData.Create<float>("table", table, [Vocabulary, Vocabulary]));
        g.Node("Gather", ["table", "input_ids"], "logits");
        g.Graph.Output.Add(GraphBuilder.ValueInfo("logits", DataType.Float, [1, -1, Vocabulary]));
        return (g.Build(), table);
    }

    private static double Expected(float[] table, IEnumerable<long[]> windows)
    {
        double total = 0;
        long count = 0;
        foreach (var w in windows)
        {
            for (int i = 0; i + 1 < w.Length; i++)
            {
                var row = table.AsSpan((int)w[i] * Vocabulary, Vocabulary).ToArray();
                double logSum = Math.Log(row.Sum(v => Math.Exp(v)));
                total += logSum - row[w[i + 1]];
                count++;
            }
        }

        return Math.Exp(total / count);
    }

    private static List<long[]> Windows(int seed, int count, int length)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, length + 1).Select(_ => (long)random.Next(Vocabulary)).ToArray())];
    }

    [Fact]
    public void Perplexity_is_exp_of_the_mean_next_token_negative_log_likelihood()
    {
        var (model, table) = Bigram(1);
        var windows = Windows(2, 5, 9);
        var result = LanguageModelEvaluator.Perplexity(model, windows);
        result.Tokens.Should().Be(45);
        result.Windows.Should().Be(5);
        result.Perplexity.Should().BeApproximately(Expected(table, windows), 1e-4);
        Math.Log(result.Perplexity).Should().BeApproximately(result.MeanNegativeLogLikelihood, 1e-12);

        // Windows cut from a stream share their boundary token.
        var stream = Enumerable.Range(0, 20).Select(i => (long)(i % Vocabulary)).ToList();
        var cut = LanguageModelEvaluator.Windows(stream, 6).ToList();
        cut.Should().HaveCount(3);
        cut[1][0].Should().Be(cut[0][^1]);
    }

    [Fact]
    public void Bad_windows_and_models_are_refused_with_the_window_or_input_named()
    {
        var (model, _) = Bigram(1);
        FluentActions.Invoking(() => LanguageModelEvaluator.Perplexity(model, [[1L, 2L], [3L]])).Should().Throw<ArgumentException>().WithMessage("*Window 1*");
        FluentActions.Invoking(() => LanguageModelEvaluator.Perplexity(model, [[1L, 9L]])).Should().Throw<ArgumentException>().WithMessage("*token id 9*vocabulary of 7*");
        FluentActions.Invoking(() => LanguageModelEvaluator.Perplexity(model, [])).Should().Throw<ArgumentException>().WithMessage("*No windows*");
        var g = new GraphBuilder(13);
        g.Output(g.Node("Relu", [g.Input("x", 1, 4)], "y"), 1, 4);
        FluentActions.Invoking(() => LanguageModelEvaluator.Perplexity(g.Build(), [[1L, 2L]])).Should().Throw<ArgumentException>().WithMessage("*int64 token input*'x'*");
    }

    [Fact]
    public void Eval_lm_prints_a_perplexity_line_per_model_and_the_relative_increase()
    {
        var (model, table) = Bigram(3);
        var (other, otherTable) = Bigram(3, scale: 0.5f);
        string a = Path.Combine(_dir, "a.onnx"), b = Path.Combine(_dir, "b.onnx"), windowsDir = Path.Combine(_dir, "windows");
        model.Save(a);
        other.Save(b);
        Directory.CreateDirectory(windowsDir);
        var windows = Windows(4, 6, 12);
        for (int i = 0; i < windows.Count; i++)
        {
            NpyFile.WriteInt64(Path.Combine(windowsDir, $"w{i:D2}.npy"), windows[i], [1, windows[i].Length]);
        }

        var (code, output) = CliRunner.Run("eval-lm", a, "--windows", windowsDir, "--compare", b);
        code.Should().Be(0, output);
        var lines = output.Split('\n').Where(l => l.StartsWith("perplexity ", StringComparison.Ordinal)).Select(l => double.Parse(l[11..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        lines.Should().HaveCount(2);
        lines[0].Should().BeApproximately(Expected(table, windows), 1e-3);
        lines[1].Should().BeApproximately(Expected(otherTable, windows), 1e-3);
        output.Should().Contain("relative increase");

        CliRunner.Run("eval-lm", a, "--windows", Path.Combine(_dir, "missing")).Code.Should().Be(1);
        NpyFile.Write(Path.Combine(windowsDir, "z.npy"), [1f, 2f], [2]);
        var (badCode, badOutput) = CliRunner.Run("eval-lm", a, "--windows", windowsDir);
        badCode.Should().Be(1);
        badOutput.Should().Contain("'z.npy'");
        CliRunner.Run("eval-lm", "--windows", windowsDir).Code.Should().Be(2);
    }
}
