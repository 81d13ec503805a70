using StbImageSharp;

namespace Quant.Net.Onnx;

/// <summary>Image decoding and the default preprocessing: resize (bilinear), scale to [0, 1], normalize, NCHW or NHWC.</summary>
public static class ImagePreprocessing
{
    /// <summary>
    /// Decodes an image file (PNG, JPEG, BMP, GIF, TGA) to 8-bit RGB or grey. A JPEG without its end-of-image marker or a
    /// PNG without its IEND chunk (truncated files, on which the decoder can loop forever) is refused up front, and
    /// decoding runs under a time limit (10 s plus 1 s per MiB), so a damaged file is an error, never a hang.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a readable image (named, with the reason).</exception>
    public static DecodedImage Decode(string path, bool grey = false) => Decode(path, grey, timeout: null);

    internal static DecodedImage Decode(string path, bool grey, TimeSpan? timeout)
    {
        var bytes = BoundedFile.ReadAllBytes(path);
        string name = Path.GetFileName(path);
        if (bytes is [0xFF, 0xD8, ..] && !HasJpegEnd(bytes))
        {
            throw new InvalidDataException($"'{name}' is a truncated JPEG (no end-of-image marker).");
        }

        if (bytes is [0x89, (byte)'P', (byte)'N', (byte)'G', ..] && bytes.AsSpan().IndexOf("IEND"u8) < 0)
        {
            throw new InvalidDataException($"'{name}' is a truncated PNG (no IEND chunk).");
        }

        if (bytes is [(byte)'B', (byte)'M', ..] && BmpShortfall(bytes) is { } shortfall)
        {
            throw new InvalidDataException($"'{name}' is a truncated BMP ({shortfall}).");
        }

        var limit = timeout ?? TimeSpan.FromSeconds(10 + (bytes.Length >> 20));
        var decoding = Task.Run(() => ImageResult.FromMemory(bytes, grey ? ColorComponents.Grey : ColorComponents.RedGreenBlue));
        try
        {
            if (!decoding.Wait(limit))
            {
                // The decoder cannot be interrupted; its thread is left to finish (or spin) in the background.
                throw new InvalidDataException($"'{name}' did not decode within {limit.TotalSeconds:0.#} s; the image is damaged.");
            }

            var image = decoding.Result;
            if (image.Width <= 0 || image.Height <= 0)
            {
                throw new InvalidDataException($"'{name}' has no pixels ({image.Width} × {image.Height}).");
            }

            return new DecodedImage(image.Width, image.Height, grey ? 1 : 3, image.Data);
        }
        catch (AggregateException e) when (e.InnerException is InvalidOperationException or ArgumentException or IndexOutOfRangeException or NullReferenceException or OverflowException)
        {
            throw new InvalidDataException($"'{name}' is not a readable image: {e.InnerException.Message}", e.InnerException);
        }
    }

    /// <summary>
    /// Why a BMP file is shorter than its headers say (the decoder reads missing pixels as zeros, so a cut file would
    /// calibrate on black), or null: the file header and info header must be complete, and an uncompressed image must
    /// hold every row its width, height and bit depth need.
    /// </summary>
    private static string? BmpShortfall(byte[] bytes)
    {
        if (bytes.Length < 18)
        {
            return $"{bytes.Length} bytes, shorter than its file header";
        }

        int info = BitConverter.ToInt32(bytes, 14);
        if (info >= 40 && bytes.Length < 14 + 40)
        {
            return $"{bytes.Length} bytes, shorter than its {info}-byte info header";
        }

        if (info < 40 || BitConverter.ToInt32(bytes, 30) != 0)
        {
            return null;   // an old-style header or a compressed image: left to the decoder
        }

        long offset = (uint)BitConverter.ToInt32(bytes, 10), width = BitConverter.ToInt32(bytes, 18), height = Math.Abs((long)BitConverter.ToInt32(bytes, 22));
        int bits = BitConverter.ToUInt16(bytes, 28);
        long needed = offset + (((width * bits) + 31) / 32 * 4 * height);
        return width > 0 && bits > 0 && bytes.Length < needed ? $"{bytes.Length} bytes; its {width} × {height} × {bits}-bit pixels need {needed}" : null;
    }

    /// <summary>An end-of-image marker (FF D9) after the start, allowing trailing padding as some writers leave.</summary>
    private static bool HasJpegEnd(byte[] bytes) => bytes.AsSpan(2).IndexOf([(byte)0xFF, (byte)0xD9]) >= 0;

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

        if (values.Any(v => !float.IsFinite(v)) || (name == "std" && values.Any(v => !(v > 0))))
        {
            throw new ArgumentException($"{name} values must be finite{(name == "std" ? " and positive" : "")}; got {string.Join(", ", values.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)))}.", name);
        }

        if (values.Count != 1 && values.Count != channels)
        {
            throw new ArgumentException($"{name} takes one value or one per channel ({channels} for this input); got {values.Count}.", name);
        }

        return values.Count == 1 ? [.. Enumerable.Repeat(values[0], channels)] : [.. values];
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
