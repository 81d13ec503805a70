using System.Globalization;
using System.Text;

namespace Quant.Net.Onnx.Tests.Corpus;

/// <summary>
/// Real inputs for the corpus models: crops of the sample photographs, English sentences from Debian's licence texts
/// tokenized with each encoder's own WordPiece vocabulary, and speech from Debian's alsa-utils test sounds.
/// </summary>
internal static class CorpusInputs
{
    public static string DataDirectory => Path.Combine(AppContext.BaseDirectory, "Corpus", "Data");

    private static readonly string[] ImageNames = ["astronaut", "chelsea", "coffee", "camera", "text"];

    private static readonly Lazy<DecodedImage[]> Images = new(() => [.. ImageNames.Select(n => ImagePreprocessing.Decode(Path.Combine(DataDirectory, n + ".jpg")))]);

    /// <summary>
    /// Image sample <paramref name="index"/>: a crop of one of the photographs (cycling through them; the crop box moves
    /// and shrinks with the index) resized bilinearly to <paramref name="height"/>×<paramref name="width"/>, as planar
    /// channels with <c>(pixel / scale - mean) / std</c> per channel (pixel in 0..255).
    /// </summary>
    public static InputTensor Image(int index, int height, int width, float scale, float[] mean, float[] std, bool bgr = false, bool text = false)
    {
        // Text models see crops of the photograph of a sign only.
        var image = text ? Images.Value[^1] : Images.Value[index % Images.Value.Length];
        int round = text ? index : index / Images.Value.Length;
        double zoom = 1.0 - (0.12 * (round % 4));
        double aspect = (double)width / height;
        double cropH = Math.Min(image.Height, image.Width / aspect) * zoom;
        double cropW = cropH * aspect;
        double top = (image.Height - cropH) * (((round * 37) % 100) / 100.0);
        double left = (image.Width - cropW) * (((round * 61) % 100) / 100.0);
        var data = new float[3 * height * width];
        for (int y = 0; y < height; y++)
        {
            double sy = Math.Clamp(top + ((y + 0.5) * cropH / height) - 0.5, 0, image.Height - 1);
            int y0 = (int)sy;
            int y1 = Math.Min(y0 + 1, image.Height - 1);
            double fy = sy - y0;
            for (int x = 0; x < width; x++)
            {
                double sx = Math.Clamp(left + ((x + 0.5) * cropW / width) - 0.5, 0, image.Width - 1);
                int x0 = (int)sx;
                int x1 = Math.Min(x0 + 1, image.Width - 1);
                double fx = sx - x0;
                for (int c = 0; c < 3; c++)
                {
                    int channel = bgr ? 2 - c : c;
                    double Pixel(int py, int px) => image.Pixels[(((py * image.Width) + px) * image.Channels) + Math.Min(channel, image.Channels - 1)];
                    double v = ((1 - fy) * (((1 - fx) * Pixel(y0, x0)) + (fx * Pixel(y0, x1)))) + (fy * (((1 - fx) * Pixel(y1, x0)) + (fx * Pixel(y1, x1))));
                    data[(((c * height) + y) * width) + x] = (float)(((v / scale) - mean[c]) / std[c]);
                }
            }
        }

        return InputTensor.FromFloats(data, 1, 3, height, width);
    }

    private static readonly Lazy<string[]> Sentences = new(() =>
    {
        var text = new StringBuilder();
        foreach (var name in new[] { "Apache-2.0", "MPL-2.0", "GPL-3", "LGPL-3", "Artistic", "GFDL-1.3" })
        {
            string path = Path.Combine("/usr/share/common-licenses", name);
            if (File.Exists(path))
            {
                text.Append(File.ReadAllText(path)).Append(' ');
            }
        }

        string flat = string.Join(' ', text.ToString().Split((char[])[' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries));
        return [.. flat.Split(". ").Select(s => s.Trim()).Where(s => s.Length > 40 && s.Count(char.IsLetter) > s.Length / 2)];
    });

    /// <summary>Sentence <paramref name="index"/> of the licence texts as BERT inputs (ids, mask of ones, token types of zeros).</summary>
    public static IReadOnlyDictionary<string, InputTensor> Sentence(int index, WordPiece tokenizer, int maxTokens = 64)
    {
        var sentences = Sentences.Value;
        if (sentences.Length == 0)
        {
            throw new InvalidOperationException("No sentences: Debian's /usr/share/common-licenses is missing.");
        }

        var ids = tokenizer.Encode(sentences[(index * 7) % sentences.Length], maxTokens);
        return new Dictionary<string, InputTensor>(StringComparer.Ordinal)
        {
            ["input_ids"] = InputTensor.FromInt64(ids, 1, ids.Length),
            ["attention_mask"] = InputTensor.FromInt64([.. ids.Select(_ => 1L)], 1, ids.Length),
            ["token_type_ids"] = InputTensor.FromInt64(new long[ids.Length], 1, ids.Length),
        };
    }

    private static readonly Lazy<float[]> Speech = new(() =>
    {
        var all = new List<float>();
        foreach (var name in new[] { "Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left", "Rear_Right", "Side_Left", "Side_Right" })
        {
            string path = $"/usr/share/sounds/alsa/{name}.wav";
            if (File.Exists(path))
            {
                all.AddRange(Resample48To16(ReadWav16(path)));
            }
        }

        return [.. all];
    });

    public static bool HasSpeech => File.Exists("/usr/share/sounds/alsa/Front_Center.wav");

    /// <summary>16 kHz speech in [-1, 1]: <paramref name="length"/> samples starting at window <paramref name="index"/> of <paramref name="hop"/> samples.</summary>
    public static float[] SpeechWindow(int index, int length, int hop)
    {
        var speech = Speech.Value;
        int start = (index * hop) % Math.Max(1, speech.Length - length);
        return speech.AsSpan(start, length).ToArray();
    }

    private static float[] ReadWav16(string path)
    {
        var bytes = File.ReadAllBytes(path);
        int pos = 12;
        int channels = 1;
        while (pos + 8 <= bytes.Length)
        {
            string id = Encoding.ASCII.GetString(bytes, pos, 4);
            int size = BitConverter.ToInt32(bytes, pos + 4);
            if (id == "fmt ")
            {
                channels = BitConverter.ToInt16(bytes, pos + 10);
            }
            else if (id == "data")
            {
                int frames = Math.Min(size, bytes.Length - pos - 8) / (2 * channels);
                var samples = new float[frames];
                for (int i = 0; i < frames; i++)
                {
                    samples[i] = BitConverter.ToInt16(bytes, pos + 8 + (i * 2 * channels)) / 32768f;
                }

                return samples;
            }

            pos += 8 + size + (size & 1);
        }

        throw new InvalidDataException($"{path}: no data chunk.");
    }

    /// <summary>48 kHz to 16 kHz: a 3-tap box filter, then every third sample.</summary>
    private static IEnumerable<float> Resample48To16(float[] samples)
    {
        for (int i = 0; i + 2 < samples.Length; i += 3)
        {
            yield return (samples[i] + samples[i + 1] + samples[i + 2]) / 3f;
        }
    }
}

/// <summary>BERT's uncased WordPiece: lower case, accents stripped, split on spaces and punctuation, greedy longest match.</summary>
internal sealed class WordPiece
{
    private readonly Dictionary<string, long> _vocab;

    public WordPiece(IEnumerable<string> vocabulary)
    {
        _vocab = new Dictionary<string, long>(StringComparer.Ordinal);
        long id = 0;
        foreach (var token in vocabulary)
        {
            _vocab.TryAdd(token.TrimEnd('\r'), id++);
        }
    }

    public long[] Encode(string text, int maxTokens)
    {
        var ids = new List<long> { _vocab["[CLS]"] };
        string normalized = new([.. text.ToLowerInvariant().Normalize(NormalizationForm.FormD).Where(c => CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark)]);
        foreach (var word in Words(normalized))
        {
            int start = 0;
            var pieces = new List<long>();
            while (start < word.Length)
            {
                int end = word.Length;
                long? found = null;
                while (end > start)
                {
                    string piece = (start > 0 ? "##" : "") + word[start..end];
                    if (_vocab.TryGetValue(piece, out long id))
                    {
                        found = id;
                        break;
                    }

                    end--;
                }

                if (found is null)
                {
                    pieces = [_vocab["[UNK]"]];
                    break;
                }

                pieces.Add(found.Value);
                start = end;
            }

            ids.AddRange(pieces);
            if (ids.Count >= maxTokens - 1)
            {
                break;
            }
        }

        ids = ids.Take(maxTokens - 1).ToList();
        ids.Add(_vocab["[SEP]"]);
        return [.. ids];
    }

    private static IEnumerable<string> Words(string text)
    {
        var word = new StringBuilder();
        foreach (char c in text)
        {
            if (char.IsWhiteSpace(c) || char.IsPunctuation(c) || char.IsSymbol(c))
            {
                if (word.Length > 0)
                {
                    yield return word.ToString();
                    word.Clear();
                }

                if (!char.IsWhiteSpace(c))
                {
                    yield return c.ToString();
                }
            }
            else
            {
                word.Append(c);
            }
        }

        if (word.Length > 0)
        {
            yield return word.ToString();
        }
    }
}
