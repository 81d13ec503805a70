namespace Quant.Net.Onnx;

/// <summary>
/// Evaluation samples with one class label each: what top-1 accuracy (<see cref="ModelComparer.Top1Accuracy(OnnxModel, LabelledData, int, Int8Arithmetic, Action{Microsoft.ML.OnnxRuntime.SessionOptions})"/>,
/// <see cref="ModelScore.Top1Accuracy(LabelledData, int)"/>) reads. Build it from tensors in memory, from any
/// <see cref="ICalibrationDataSource"/> plus labels, or from a folder of class subfolders (<see cref="OpenFolder"/>).
/// </summary>
public sealed class LabelledData
{
    /// <summary>Samples and their labels (and optionally the class names the labels index).</summary>
    /// <param name="samples">The samples; their count must be known (<see cref="ICalibrationDataSource.Count"/>) and equal the labels'.</param>
    /// <param name="labels">One class index per sample, ≥ 0.</param>
    /// <param name="classes">Class names by index (default: "0", "1", … up to the largest label).</param>
    /// <exception cref="ArgumentException">The counts differ or are unknown, or a label is negative or beyond the class names.</exception>
    public LabelledData(ICalibrationDataSource samples, IReadOnlyList<int> labels, IReadOnlyList<string>? classes = null)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(labels);
        if (samples.Count is not int count || count != labels.Count)
        {
            throw new ArgumentException($"Need one label per sample; got {(samples.Count is int n ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : "an unknown number of")} samples and {labels.Count} labels.", nameof(labels));
        }

        int classCount = classes?.Count ?? (labels.Count == 0 ? 0 : labels.Max() + 1);
        for (int i = 0; i < labels.Count; i++)
        {
            if (labels[i] < 0 || labels[i] >= classCount)
            {
                throw new ArgumentException($"Label {i} is {labels[i]}; labels index {classCount} class(es).", nameof(labels));
            }
        }

        Samples = samples;
        Labels = labels;
        Classes = classes ?? [.. Enumerable.Range(0, classCount).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture))];
    }

    /// <summary>The samples.</summary>
    public ICalibrationDataSource Samples { get; }

    /// <summary>One class index per sample.</summary>
    public IReadOnlyList<int> Labels { get; }

    /// <summary>The class names, by label.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Number of samples.</summary>
    public int Count => Labels.Count;

    /// <summary>Tensors in memory for a model's single input, with their labels.</summary>
    /// <exception cref="ArgumentException">The counts differ, or a label is negative.</exception>
    public static LabelledData FromTensors(string inputName, IReadOnlyList<InputTensor> samples, IReadOnlyList<int> labels)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputName);
        ArgumentNullException.ThrowIfNull(samples);
        return new LabelledData(InMemoryCalibrationData.ForSingleInput(inputName, samples), labels);
    }

    /// <summary>
    /// A folder of class subfolders, as image classification data sets are laid out (<c>DIR/&lt;class&gt;/&lt;files&gt;</c>,
    /// torchvision's ImageFolder): classes in ordinal name order (the label of a sample is its folder's index), each
    /// subfolder read as <see cref="FolderCalibrationData.Open"/> reads a folder (images, .npy or raw files).
    /// </summary>
    /// <param name="folder">The folder holding one subfolder per class.</param>
    /// <param name="model">The model whose inputs the files feed.</param>
    /// <param name="imagePreprocess">Image preprocessing (default: <see cref="ImagePreprocessing.ForInput"/>).</param>
    /// <param name="mean">Per-channel mean for the default image preprocessing.</param>
    /// <param name="std">Per-channel standard deviation for the default image preprocessing.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The folder has no class subfolders, or a subfolder holds no usable files (named).</exception>
    public static LabelledData OpenFolder(string folder, OnnxModel model, Func<DecodedImage, InputTensor>? imagePreprocess = null,
        IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(model);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"Labelled data folder '{folder}' does not exist.");
        }

        var classFolders = Directory.GetDirectories(folder).Order(StringComparer.Ordinal).ToList();
        if (classFolders.Count == 0)
        {
            throw new InvalidDataException($"Labelled data folder '{folder}' has no class subfolders (expected DIR/<class>/<files>).");
        }

        var parts = classFolders.Select(f => FolderCalibrationData.Open(f, model, imagePreprocess, mean, std)).ToList();
        var labels = parts.SelectMany((p, c) => Enumerable.Repeat(c, p.Count ?? 0)).ToList();
        return new LabelledData(new ConcatenatedData(parts), labels, [.. classFolders.Select(f => Path.GetFileName(f)!)]);
    }

    /// <summary>Sources read one after the other.</summary>
    private sealed class ConcatenatedData(IReadOnlyList<ICalibrationDataSource> parts) : ICalibrationDataSource
    {
        public int? Count => parts.Sum(p => p.Count ?? 0);

        public IEnumerable<IReadOnlyDictionary<string, InputTensor>> GetSamples(CancellationToken cancellationToken = default) =>
            parts.SelectMany(p => p.GetSamples(cancellationToken));
    }
}
