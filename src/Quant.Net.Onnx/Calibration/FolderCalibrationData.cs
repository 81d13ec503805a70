using StbImageSharp;

namespace Quant.Net.Onnx;

/// <summary>A decoded image: interleaved 8-bit pixels, row-major (height × width × channels).</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Channels">1 (grey) or 3 (RGB).</param>
/// <param name="Pixels">The pixel bytes.</param>
public sealed record DecodedImage(int Width, int Height, int Channels, byte[] Pixels);

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
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != count * 4)
        {
            throw new InvalidDataException($"'{Path.GetFileName(path)}' holds {bytes.Length} bytes; input '{input}' needs {count * 4} (float32).");
        }

        return InputTensor.FromFloats(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray(), shape);
    }
}

/// <summary>Image decoding and the default preprocessing: resize (bilinear), scale to [0, 1], normalize, NCHW or NHWC.</summary>
public static class ImagePreprocessing
{
    /// <summary>Decodes an image file (PNG, JPEG, BMP, GIF, TGA) to 8-bit RGB or grey.</summary>
    /// <exception cref="InvalidDataException">The file is not a readable image.</exception>
    public static DecodedImage Decode(string path, bool grey = false)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var image = ImageResult.FromStream(stream, grey ? ColorComponents.Grey : ColorComponents.RedGreenBlue);
            return new DecodedImage(image.Width, image.Height, grey ? 1 : 3, image.Data);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or NullReferenceException)
        {
            throw new InvalidDataException($"'{Path.GetFileName(path)}' is not a readable image: {e.Message}", e);
        }
    }

    /// <summary>
    /// The default preprocessing for an image input of shape [N, C, H, W] (or [N, H, W, C]) with C = 1 or 3: bilinear
    /// resize to H × W, grey or RGB, values / 255, then (x − mean[c]) / std[c]. The result has batch 1.
    /// </summary>
    /// <exception cref="InvalidDataException">The input is not a float image tensor with fixed H, W and C.</exception>
    public static Func<DecodedImage, InputTensor> ForInput(OnnxValueInfo input, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var s = input.Shape;
        if (input.ElementType != "FLOAT" || s.Count != 4)
        {
            throw new InvalidDataException($"Input '{input}' is not a float image tensor [N, C, H, W] or [N, H, W, C].");
        }

        bool nhwc = s[1] is not (1 or 3) && s[3] is 1 or 3;
        long? c = nhwc ? s[3] : s[1], h = nhwc ? s[1] : s[2], w = nhwc ? s[2] : s[3];
        if (c is not (1 or 3) || h is null || w is null)
        {
            throw new InvalidDataException($"Input '{input}' needs fixed channel (1 or 3), height and width dimensions for image calibration.");
        }

        int channels = (int)c, height = (int)h, width = (int)w;
        float[] m = Expand(mean, channels, 0f, nameof(mean));
        float[] d = Expand(std, channels, 1f, nameof(std));
        return image =>
        {
            var source = image.Channels == channels ? image : Convert(image, channels);
            var data = new float[channels * height * width];
            Resize(source, width, height, (x, y, ch, v) =>
            {
                int i = nhwc ? (y * width + x) * channels + ch : (ch * height + y) * width + x;
                data[i] = (v / 255f - m[ch]) / d[ch];
            });
            return InputTensor.FromFloats(data, nhwc ? [1, height, width, channels] : [1, channels, height, width]);
        };
    }

    private static float[] Expand(IReadOnlyList<float>? values, int channels, float fallback, string name)
    {
        if (values is null || values.Count == 0)
        {
            return [.. Enumerable.Repeat(fallback, channels)];
        }

        if (values.Count == 1)
        {
            return [.. Enumerable.Repeat(values[0], channels)];
        }

        if (values.Count != channels || (name == "std" && values.Any(v => !(v > 0))))
        {
            throw new ArgumentException($"{name} needs 1 or {channels} values{(name == "std" ? ", all positive" : "")}; got {values.Count}.", name);
        }

        return [.. values];
    }

    private static DecodedImage Convert(DecodedImage image, int channels)
    {
        var pixels = new byte[image.Width * image.Height * channels];
        for (int p = 0; p < image.Width * image.Height; p++)
        {
            if (channels == 1)
            {
                int r = image.Pixels[p * 3], g = image.Pixels[(p * 3) + 1], b = image.Pixels[(p * 3) + 2];
                pixels[p] = (byte)(((299 * r) + (587 * g) + (114 * b) + 500) / 1000);
            }
            else
            {
                pixels[p * 3] = pixels[(p * 3) + 1] = pixels[(p * 3) + 2] = image.Pixels[p];
            }
        }

        return new DecodedImage(image.Width, image.Height, channels, pixels);
    }

    /// <summary>Bilinear resampling with pixel centres aligned (half-pixel), as common image libraries do.</summary>
    private static void Resize(DecodedImage image, int width, int height, Action<int, int, int, float> write)
    {
        float sx = (float)image.Width / width, sy = (float)image.Height / height;
        for (int y = 0; y < height; y++)
        {
            float fy = Math.Clamp(((y + 0.5f) * sy) - 0.5f, 0, image.Height - 1);
            int y0 = (int)fy, y1 = Math.Min(y0 + 1, image.Height - 1);
            float ty = fy - y0;
            for (int x = 0; x < width; x++)
            {
                float fx = Math.Clamp(((x + 0.5f) * sx) - 0.5f, 0, image.Width - 1);
                int x0 = (int)fx, x1 = Math.Min(x0 + 1, image.Width - 1);
                float tx = fx - x0;
                for (int ch = 0; ch < image.Channels; ch++)
                {
                    float Pixel(int px, int py) => image.Pixels[(((py * image.Width) + px) * image.Channels) + ch];
                    float top = Pixel(x0, y0) + ((Pixel(x1, y0) - Pixel(x0, y0)) * tx);
                    float bottom = Pixel(x0, y1) + ((Pixel(x1, y1) - Pixel(x0, y1)) * tx);
                    write(x, y, ch, top + ((bottom - top) * ty));
                }
            }
        }
    }
}
