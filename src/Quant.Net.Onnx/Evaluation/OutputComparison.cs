namespace Quant.Net.Onnx;

/// <summary>How a quantized model output compares with the FP32 one, over all samples.</summary>
/// <param name="Name">Output name.</param>
/// <param name="SqnrDecibels">10·log10(Σ reference² / Σ error²) over every element of every sample.</param>
/// <param name="CosineSimilarity">Cosine between the concatenated reference and quantized outputs.</param>
/// <param name="Top1Agreement">Fraction of rows whose arg-max over the last axis agrees (null for single-value rows).</param>
/// <param name="MaxAbsoluteError">Largest absolute difference.</param>
public sealed record OutputComparison(string Name, double SqnrDecibels, double CosineSimilarity, double? Top1Agreement, double MaxAbsoluteError)
{
    /// <summary>
    /// For token embeddings [B, T, H] of a model with an <c>attention_mask</c> input: the mean over samples of the cosine
    /// between the mask-aware mean-pooled embeddings (a sentence encoder's output); null otherwise.
    /// </summary>
    public double? PooledCosine { get; init; }

    /// <summary>The smallest per-sample pooled-embedding cosine (with <see cref="PooledCosine"/>).</summary>
    public double? MinPooledCosine { get; init; }
}
