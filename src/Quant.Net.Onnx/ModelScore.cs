namespace Quant.Net.Onnx;

/// <summary>
/// A score of a model on evaluation data, higher is better (accuracy, cosine similarity to FP32, ...): what sensitivity
/// analysis and mixed precision compare quantized variants by. The built-in scores run quantized models with exact
/// int32 accumulation (<see cref="Int8Arithmetic.Exact"/>): what every deployment target computes for encodings made
/// for it, so a host whose int8 kernels saturate (x86 without VNNI) does not mislead the comparison.
/// </summary>
/// <param name="Name">What the score measures, for reports ("top-1 accuracy", "cosine vs FP32").</param>
/// <param name="Evaluate">Scores one model; called once per variant.</param>
public sealed record ModelScore(string Name, Func<OnnxModel, double> Evaluate)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);

    /// <summary>
    /// True for an accuracy: a fraction in [0, 1] that people read as a percentage (reports and the CLI print 0.938 as
    /// 93.8% and a drop of 0.004 as 0.4 points). Budgets (<see cref="MixedPrecisionOptions.AllowedDrop"/>) are always in
    /// the score's own units: 0.005 is half a point of accuracy.
    /// </summary>
    public bool IsAccuracy { get; init; }

    /// <summary>
    /// Mean cosine similarity of every output to the FP32 model's on <paramref name="samples"/> (FP32 outputs computed
    /// once, here).
    /// </summary>
    /// <exception cref="InvalidDataException">The source yields no samples.</exception>
    public static ModelScore CosineToFp32(OnnxModel fp32, ICalibrationDataSource samples)
    {
        ArgumentNullException.ThrowIfNull(fp32);
        ArgumentNullException.ThrowIfNull(samples);
        var inputs = samples.GetSamples().ToList();
        if (inputs.Count == 0)
        {
            throw new InvalidDataException("The evaluation source yielded no samples.");
        }

        List<IReadOnlyDictionary<string, (float[] Data, int[] Shape)>> reference;
        using (var runner = new ModelRunner(fp32))
        {
            reference = [.. inputs.Select(runner.Run)];
        }

        return new ModelScore("cosine vs FP32", model =>
        {
            using var runner = new ModelRunner(model, arithmetic: Int8Arithmetic.Exact);
            double sum = 0;
            int count = 0;
            for (int i = 0; i < inputs.Count; i++)
            {
                var outputs = runner.Run(inputs[i]);
                foreach (var (name, (expected, _)) in reference[i])
                {
                    sum += Cosine(expected, outputs[name].Data);
                    count++;
                }
            }

            return sum / count;
        });
    }

    /// <summary>Top-1 accuracy of a single-input classifier, a fraction in [0, 1] (see <see cref="ModelComparer"/>).</summary>
    public static ModelScore Top1Accuracy(IReadOnlyList<InputTensor> samples, IReadOnlyList<int> labels, int batchSize = 100)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(labels);
        return new ModelScore("top-1 accuracy", model => ModelComparer.Top1Accuracy(model, samples, labels, batchSize, Int8Arithmetic.Exact)) { IsAccuracy = true };
    }

    /// <summary>Top-1 accuracy on labelled data (for example <see cref="LabelledData.OpenFolder"/>), a fraction in [0, 1].</summary>
    public static ModelScore Top1Accuracy(LabelledData data, int batchSize = 100)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new ModelScore("top-1 accuracy", model => ModelComparer.Top1Accuracy(model, data, batchSize, Int8Arithmetic.Exact)) { IsAccuracy = true };
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }

        return na == 0 && nb == 0 ? 1 : dot / Math.Sqrt(Math.Max(na * nb, double.Epsilon));
    }
}
