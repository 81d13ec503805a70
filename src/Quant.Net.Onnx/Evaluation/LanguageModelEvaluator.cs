namespace Quant.Net.Onnx;

/// <summary>The next-token perplexity of a causal language model over token windows.</summary>
/// <param name="Perplexity">exp of the mean negative log-likelihood per predicted token.</param>
/// <param name="MeanNegativeLogLikelihood">Mean −log p(next token) in nats.</param>
/// <param name="Tokens">Tokens predicted (T per window of T + 1).</param>
/// <param name="Windows">Windows evaluated.</param>
public sealed record PerplexityResult(double Perplexity, double MeanNegativeLogLikelihood, long Tokens, int Windows)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);
}

/// <summary>
/// Perplexity of an ONNX causal language model in ONNX Runtime — what a language model's users compare between its
/// FP32 and quantized versions. The model takes token ids (int64 [1, T], the input named <c>input_ids</c>, or its only
/// input) and returns logits [1, T, V] (its first output); an <c>attention_mask</c> input gets ones and a
/// <c>position_ids</c> input 0 … T − 1. A window of T + 1 tokens feeds the first T and scores the prediction of each
/// next one.
/// </summary>
public static class LanguageModelEvaluator
{
    /// <summary>Perplexity of <paramref name="model"/> over <paramref name="windows"/>.</summary>
    /// <param name="model">The language model.</param>
    /// <param name="windows">Token windows of at least 2 tokens (T + 1 ids).</param>
    /// <param name="progress">One report per window.</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    /// <exception cref="ArgumentException">The model has no int64 token input, or a window is shorter than 2 tokens or holds an id outside the vocabulary (the message names the window).</exception>
    /// <exception cref="InvalidDataException">The model's output is not logits [1, T, V].</exception>
    public static PerplexityResult Perplexity(OnnxModel model, IEnumerable<long[]> windows, IProgress<QuantizationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(windows);
        var feed = Feeder(model);
        string logits = model.Outputs[0].Name;
        using var runner = new ModelRunner(model, 0);
        double total = 0;
        long tokens = 0;
        int count = 0;
        foreach (var window in windows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (window is null || window.Length < 2)
            {
                throw new ArgumentException($"Window {count} has {window?.Length ?? 0} tokens; a window needs at least 2 (T inputs and the token after them).", nameof(windows));
            }

            int t = window.Length - 1;
            var (values, shape) = runner.Run(feed(window[..t]))[logits];
            if (shape is not [1, var steps, var vocabulary] || steps != t)
            {
                throw new InvalidDataException($"Output '{logits}' has shape [{string.Join(", ", shape)}]; a causal language model returns logits [1, {t}, V] for {t} tokens.");
            }

            for (int i = 0; i < t; i++)
            {
                long next = window[i + 1];
                if (next < 0 || next >= vocabulary)
                {
                    throw new ArgumentException($"Window {count} holds token id {next} at position {i + 1}, outside the model's vocabulary of {vocabulary}.", nameof(windows));
                }

                total += NegativeLogLikelihood(values.AsSpan(i * vocabulary, vocabulary), (int)next);
            }

            tokens += t;
            count++;
            progress?.Report(new QuantizationProgress("perplexity", count, null));
        }

        if (count == 0)
        {
            throw new ArgumentException("No windows to evaluate.", nameof(windows));
        }

        double mean = total / tokens;
        return new PerplexityResult(Math.Exp(mean), mean, tokens, count);
    }

    /// <summary>
    /// The inputs of one call for token ids [1, T]: the token input (<c>input_ids</c>, or the single int64 input), and
    /// ones for <c>attention_mask</c> and 0 … T − 1 for <c>position_ids</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The model has no int64 token input, or an input it cannot fill.</exception>
    internal static Func<long[], IReadOnlyDictionary<string, InputTensor>> Feeder(OnnxModel model)
    {
        var inputs = model.Inputs;
        var ids = inputs.FirstOrDefault(i => i.Name == "input_ids") ?? (inputs.Count == 1 ? inputs[0] : null);
        if (ids is null || ids.ElementType != "INT64")
        {
            throw new ArgumentException($"The model needs an int64 token input named 'input_ids' (or a single int64 input); it has {string.Join(", ", inputs.Select(i => $"'{i.Name}'"))}.", nameof(model));
        }

        var others = inputs.Where(i => i != ids).ToList();
        foreach (var other in others.Where(o => o.Name is not ("attention_mask" or "position_ids")))
        {
            throw new ArgumentException($"The model's input '{other.Name}' is neither the token ids, attention_mask nor position_ids.", nameof(model));
        }

        return tokens =>
        {
            int t = tokens.Length;
            var feed = new Dictionary<string, InputTensor>(StringComparer.Ordinal) { [ids.Name] = InputTensor.FromInt64(tokens, 1, t) };
            foreach (var other in others)
            {
                feed[other.Name] = InputTensor.FromInt64([.. Enumerable.Range(0, t).Select(i => other.Name == "position_ids" ? (long)i : 1L)], 1, t);
            }

            return feed;
        };
    }

    /// <summary>Windows of <paramref name="length"/> + 1 tokens, one every <paramref name="length"/> (consecutive windows share one token).</summary>
    /// <param name="tokens">The token stream (for a byte-level model, the text's bytes).</param>
    /// <param name="length">T, the tokens fed per window.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is below 1.</exception>
    public static IEnumerable<long[]> Windows(IReadOnlyList<long> tokens, int length)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        for (int start = 0; start + length < tokens.Count; start += length)
        {
            yield return [.. Enumerable.Range(start, length + 1).Select(i => tokens[i])];
        }
    }

    /// <summary>log Σ exp(z) − z[target], in double.</summary>
    private static double NegativeLogLikelihood(ReadOnlySpan<float> z, int target)
    {
        double max = double.NegativeInfinity;
        foreach (float v in z)
        {
            max = Math.Max(max, v);
        }

        double sum = 0;
        foreach (float v in z)
        {
            sum += Math.Exp(v - max);
        }

        return max + Math.Log(sum) - z[target];
    }
}
