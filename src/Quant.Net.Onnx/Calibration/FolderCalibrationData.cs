using StbImageSharp;

namespace Quant.Net.Onnx;

/// <summary>
/// Calibration samples from a folder: NumPy <c>.npy</c> files (one sample per file, named
/// <c>&lt;input name&gt;.&lt;anything&gt;.npy</c>; a model with one input may use any names), raw little-endian float32
/// files (<c>.raw</c> or <c>.bin</c>, same naming, holding exactly one sample of the input's shape with batch 1), or
/// image files (PNG, JPEG, BMP, GIF, TGA) for a model with one image input. Files are read lazily, in name order.
/// </summary>
public sealed class FolderCalibrationData : ICalibrationDataSource
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga"];
    private readonly List<List<(string Input, string Path)>> _samples;
    private readonly Func<DecodedImage, InputTensor>? _preprocess;
    private readonly Dictionary<string, OnnxValueInfo> _inputs;

    private FolderCalibrationData(List<List<(string, string)>> samples, Func<DecodedImage, InputTensor>? preprocess, IReadOnlyList<OnnxValueInfo> inputs)
    {
        _samples = samples;
        _preprocess = preprocess;
        _inputs = inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
    }

    /// <inheritdoc/>
    public int? Count => _samples.Count;

    /// <summary>
    /// Opens a folder for a model: .npy files if there are any, otherwise images (preprocessed by
    /// <paramref name="imagePreprocess"/>, or by <see cref="ImagePreprocessing.ForInput"/> with the given mean/std).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The folder holds no usable files, or names do not match the model's inputs.</exception>
    public static FolderCalibrationData Open(string folder, OnnxModel model, Func<DecodedImage, InputTensor>? imagePreprocess = null,
        IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(model);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"Calibration folder '{folder}' does not exist.");
        }

        var inputs = model.Inputs;
        var files = Directory.GetFiles(folder).Order(StringComparer.Ordinal).ToList();
        var npy = files.Where(f => Path.GetExtension(f).ToLowerInvariant() is ".npy" or ".raw" or ".bin").ToList();
        if (npy.Count > 0)
        {
            if (mean is { Count: > 0 } || std is { Count: > 0 })
            {
                throw new ArgumentException($"Mean and std normalize image files; '{folder}' holds .npy/raw samples, which are fed as they are. Normalize them when writing them, or leave mean and std out.", mean is { Count: > 0 } ? nameof(mean) : nameof(std));
            }

            if (inputs.Count == 1 && !npy.Any(f => Path.GetFileName(f).StartsWith(inputs[0].Name + ".", StringComparison.Ordinal)))
            {
                return new FolderCalibrationData([.. npy.Select(f => new List<(string, string)> { (inputs[0].Name, f) })], null, inputs);
            }

            var groups = new SortedDictionary<string, List<(string, string)>>(StringComparer.Ordinal);
            foreach (var file in npy)
            {
                string name = Path.GetFileName(file);
                var input = inputs.Where(i => name.StartsWith(i.Name + ".", StringComparison.Ordinal)).MaxBy(i => i.Name.Length)
                    ?? throw new InvalidDataException($"Calibration file '{name}' does not start with a model input name followed by '.' (inputs: {string.Join(", ", inputs.Select(i => i.Name))}).");
                string id = Path.GetFileNameWithoutExtension(name)[(input.Name.Length + 1)..];
                if (!groups.TryGetValue(id, out var list))
                {
                    groups[id] = list = [];
                }

                list.Add((input.Name, file));
            }

            foreach (var (id, list) in groups)
            {
                var missing = inputs.Select(i => i.Name).Except(list.Select(l => l.Item1)).ToList();
                if (missing.Count > 0)
                {
                    throw new InvalidDataException($"Calibration sample '{id}' has no file for input(s) {string.Join(", ", missing)} (expected '<input>.{id}.npy').");
                }
            }

            return new FolderCalibrationData([.. groups.Values], null, inputs);
        }

        var images = files.Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).ToList();
        if (images.Count == 0)
        {
            throw new InvalidDataException($"Calibration folder '{folder}' holds no .npy or image files.");
        }

        if (inputs.Count != 1)
        {
            throw new InvalidDataException($"Image calibration needs a model with one input; this one has {inputs.Count}. Use .npy files named '<input>.<id>.npy'.");
        }

        var preprocess = imagePreprocess ?? ImagePreprocessing.ForInput(inputs[0], mean, std);
        return new FolderCalibrationData([.. images.Select(f => new List<(string, string)> { (inputs[0].Name, f) })], preprocess, inputs);
    }

    /// <inheritdoc/>
    public IEnumerable<IReadOnlyDictionary<string, InputTensor>> GetSamples(CancellationToken cancellationToken = default)
    {
        foreach (var sample in _samples)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = new Dictionary<string, InputTensor>(StringComparer.Ordinal);
            foreach (var (input, path) in sample)
            {
                result[input] = _preprocess is not null ? _preprocess(ImagePreprocessing.Decode(path))
                    : path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase) ? NpyFile.Read(path) : ReadRaw(path, _inputs[input]);
            }

            yield return result;
        }
    }

    /// <summary>A raw little-endian float32 file holding one sample: the input's shape with a free batch dimension of 1.</summary>
    private static InputTensor ReadRaw(string path, OnnxValueInfo input)
    {
        if (input.ElementType != "FLOAT" || input.Shape.Skip(1).Any(d => d is null))
        {
            throw new InvalidDataException($"'{Path.GetFileName(path)}': raw files need a float input with fixed dimensions after the batch; '{input}' is not. Use .npy files.");
        }

        int[] shape = [.. input.Shape.Select((d, i) => i == 0 && d is null ? 1 : (int)d!.Value)];
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var bytes = BoundedFile.ReadAllBytes(path);
        if (bytes.Length != count * 4)
        {
            throw new InvalidDataException($"'{Path.GetFileName(path)}' holds {bytes.Length} bytes; input '{input}' needs {count * 4} (float32).");
        }

        return InputTensor.FromFloats(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray(), shape);
    }
}
