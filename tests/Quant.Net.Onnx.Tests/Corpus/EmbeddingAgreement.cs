namespace Quant.Net.Onnx.Tests.Corpus;

/// <summary>
/// What users of a sentence encoder care about: the mask-aware mean-pooled embedding of each sentence, its cosine to
/// the FP32 model's embedding, and whether every sentence keeps the same nearest neighbour among the others.
/// </summary>
internal static class EmbeddingAgreement
{
    public static (double MeanCosine, double MinCosine, double NeighbourAgreement) Measure(OnnxModel fp32, OnnxModel quantized, CorpusModel corpus, int sentences)
    {
        using var a = new ModelRunner(fp32, 1);
        using var b = new ModelRunner(quantized, 1);
        var reference = new List<float[]>();
        var measured = new List<float[]>();
        for (int i = 0; i < sentences; i++)
        {
            var sample = corpus.Input(corpus.CalibrationSamples + i);
            var mask = (long[])sample["attention_mask"].Data;
            reference.Add(Pool(a.Run(sample)[corpus.MainOutput].Data, mask));
            measured.Add(Pool(b.Run(sample)[corpus.MainOutput].Data, mask));
        }

        var cosines = reference.Zip(measured, Cosine).ToList();
        int agree = 0;
        for (int i = 0; i < sentences; i++)
        {
            agree += Nearest(reference, i) == Nearest(measured, i) ? 1 : 0;
        }

        return (cosines.Average(), cosines.Min(), agree / (double)sentences);
    }

    /// <summary>Mean of the token embeddings [1, T, H] where the mask is 1.</summary>
    private static float[] Pool(float[] hidden, long[] mask)
    {
        int tokens = mask.Length, width = hidden.Length / tokens;
        var pooled = new float[width];
        int count = 0;
        for (int t = 0; t < tokens; t++)
        {
            if (mask[t] == 0)
            {
                continue;
            }

            count++;
            for (int h = 0; h < width; h++)
            {
                pooled[h] += hidden[(t * width) + h];
            }
        }

        for (int h = 0; h < width; h++)
        {
            pooled[h] /= Math.Max(1, count);
        }

        return pooled;
    }

    private static double Cosine(float[] x, float[] y)
    {
        double dot = 0, nx = 0, ny = 0;
        for (int i = 0; i < x.Length; i++)
        {
            dot += x[i] * (double)y[i];
            nx += x[i] * (double)x[i];
            ny += y[i] * (double)y[i];
        }

        return dot / Math.Sqrt(nx * ny);
    }

    private static int Nearest(List<float[]> embeddings, int query)
    {
        int best = -1;
        double bestCosine = double.NegativeInfinity;
        for (int j = 0; j < embeddings.Count; j++)
        {
            if (j != query && Cosine(embeddings[query], embeddings[j]) is var c && c > bestCosine)
            {
                best = j;
                bestCosine = c;
            }
        }

        return best;
    }
}
