using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quant.Net.Onnx;

/// <summary>
/// AIMET encodings JSON (format versions 0.6.1 and 1.0.0): written from a quantization result and read back, so
/// encodings round-trip between Quant.Net and AIMET tooling. Biases are not written (AIMET leaves them to the runtime);
/// they are recomputed from input and weight scales on import.
/// </summary>
public static class AimetEncodingsFile
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The encodings of <paramref name="result"/> as AIMET JSON.</summary>
    public static string ToJson(QuantizationResult result, AimetEncodingsVersion version)
    {
        ArgumentNullException.ThrowIfNull(result);
        var entries = result.Encodings.Where(e => e.Encoding is not null).Select(e => ToAimet(e)).ToList();
        return ToJson(entries, version, result.Config);
    }

    /// <summary>Encodings as AIMET JSON.</summary>
    public static string ToJson(IReadOnlyList<AimetTensorEncoding> entries, AimetEncodingsVersion version, QuantizationConfig? config = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var root = new JsonObject();
        if (version == AimetEncodingsVersion.Version100)
        {
            root["version"] = "1.0.0";
            root["activation_encodings"] = new JsonArray([.. entries.Where(e => !e.IsParameter).Select(V1Entry)]);
            root["param_encodings"] = new JsonArray([.. entries.Where(e => e.IsParameter).Select(V1Entry)]);
        }
        else
        {
            root["version"] = "0.6.1";
            root["activation_encodings"] = V0Entries(entries.Where(e => !e.IsParameter));
            root["param_encodings"] = V0Entries(entries.Where(e => e.IsParameter));
        }

        root["excluded_layers"] = new JsonArray([.. (config?.ExcludedNodes ?? []).Select(n => (JsonNode)n)]);
        root["quantizer_args"] = new JsonObject
        {
            ["activation_bitwidth"] = entries.FirstOrDefault(e => !e.IsParameter)?.BitWidth ?? 8,
            ["param_bitwidth"] = entries.FirstOrDefault(e => e.IsParameter)?.BitWidth ?? 8,
            ["dtype"] = "int",
            ["per_channel_quantization"] = config?.PerChannelWeights ?? true,
            ["quant_scheme"] = "post_training_tf",
            ["is_symmetric"] = true,
            ["strict_symmetric"] = false,
            ["unsigned_symmetric"] = false,
        };
        return root.ToJsonString(Indented);
    }

    /// <summary>
    /// Writes the encodings of <paramref name="result"/> to <paramref name="path"/> atomically. They name tensors of
    /// <see cref="QuantizationResult.PreparedModel"/>: the original model's, unless preparation rewrote it (outlier
    /// smoothing, cross-layer equalization), in which case the prepared model is the FP32 model they belong to.
    /// </summary>
    public static void Save(QuantizationResult result, string path, AimetEncodingsVersion version = AimetEncodingsVersion.Version100)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.WriteAllText(path, ToJson(result, version));
    }

    /// <summary>Reads an AIMET encodings file (0.6.1 or 1.0.0, detected from its <c>version</c>).</summary>
    /// <exception cref="InvalidDataException">The file is not a readable AIMET encodings file (the message names the entry).</exception>
    public static IReadOnlyList<AimetTensorEncoding> Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Parse(File.ReadAllText(path));
    }

    /// <summary>Parses AIMET encodings JSON.</summary>
    /// <exception cref="InvalidDataException">Not a readable AIMET encodings document.</exception>
    public static IReadOnlyList<AimetTensorEncoding> Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            var root = JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException("AIMET encodings must be a JSON object.");
            string version = root["version"]?.GetValue<string>() ?? "0.6.1";
            var result = new List<AimetTensorEncoding>();
            foreach (var (key, isParameter) in new[] { ("activation_encodings", false), ("param_encodings", true) })
            {
                var section = root[key];
                if (section is null)
                {
                    continue;
                }

                if (version.StartsWith("1.", StringComparison.Ordinal))
                {
                    foreach (var entry in section.AsArray())
                    {
                        result.Add(FromV1(entry!.AsObject(), isParameter));
                    }
                }
                else
                {
                    foreach (var (name, list) in section.AsObject())
                    {
                        result.Add(FromV0(name, list!.AsArray(), isParameter));
                    }
                }
            }

            return result;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException or NullReferenceException)
        {
            throw new InvalidDataException($"Invalid AIMET encodings: {e.Message}", e);
        }
    }

    /// <summary>
    /// Matches imported encodings to the tensors the config would quantize in <paramref name="model"/> and converts them
    /// to <see cref="QuantEncoding"/>s, ready for <see cref="OnnxQuantizer.Quantize"/>'s fixed encodings.
    /// </summary>
    /// <exception cref="ArgumentException">An encoding does not fit its tensor's scheme.</exception>
    public static IReadOnlyDictionary<string, QuantEncoding> ForModel(IReadOnlyList<AimetTensorEncoding> encodings, OnnxModel model, QuantizationConfig? config = null)
    {
        ArgumentNullException.ThrowIfNull(encodings);
        ArgumentNullException.ThrowIfNull(model);
        config = (config ?? new QuantizationConfig()).Validated();
        var (prepared, _) = ModelPreparer.Prepare(model, OnnxQuantizer.RequiredOpset(config));
        var plan = QuantizationPlan.Build(prepared, config);
        var result = new Dictionary<string, QuantEncoding>(StringComparer.Ordinal);
        foreach (var e in encodings)
        {
            if (plan[e.Name] is { Role: not TensorRole.Bias } planned)
            {
                var scheme = planned.Scheme;
                if (e.Scales.Count == 1 && scheme.Granularity.Kind != QuantGranularityKind.PerTensor)
                {
                    scheme = scheme.WithGranularity(QuantGranularity.PerTensor);
                }

                result[e.Name] = e.ToQuantEncoding(scheme);
            }
        }

        return result;
    }

    private static AimetTensorEncoding ToAimet(TensorEncoding e)
    {
        var enc = e.Encoding!;
        var scheme = enc.Scheme;
        var offsets = new int[enc.Count];
        for (int i = 0; i < offsets.Length; i++)
        {
            offsets[i] = enc[i].ToAimet(scheme.BitWidth, scheme.IsSymmetric).Offset;
        }

        return new AimetTensorEncoding(e.Tensor.Name, e.Tensor.Role != TensorRole.Activation, scheme.BitWidth, scheme.IsSymmetric, [.. enc.Scales],
            offsets, scheme.Granularity.Kind == QuantGranularityKind.PerBlock ? scheme.Granularity.BlockSize : null);
    }

    private static JsonObject V1Entry(AimetTensorEncoding e)
    {
        var o = new JsonObject
        {
            ["name"] = e.Name,
            ["enc_type"] = e.BlockSize is not null ? "PER_BLOCK" : e.Scales.Count > 1 ? "PER_CHANNEL" : "PER_TENSOR",
            ["dtype"] = "INT",
            ["bw"] = e.BitWidth,
            ["is_sym"] = e.IsSymmetric,
            ["scale"] = new JsonArray([.. e.Scales.Select(s => (JsonNode)s)]),
            ["offset"] = new JsonArray([.. e.Offsets.Select(s => (JsonNode)s)]),
        };
        if (e.BlockSize is { } b)
        {
            o["block_size"] = b;
        }

        return o;
    }

    private static JsonObject V0Entries(IEnumerable<AimetTensorEncoding> entries)
    {
        var section = new JsonObject();
        foreach (var e in entries)
        {
            var list = new JsonArray();
            for (int i = 0; i < e.Scales.Count; i++)
            {
                double scale = e.Scales[i];
                int levels = (1 << e.BitWidth) - 1;
                list.Add(new JsonObject
                {
                    ["bitwidth"] = e.BitWidth,
                    ["dtype"] = "int",
                    ["is_symmetric"] = e.IsSymmetric ? "True" : "False",
                    ["max"] = (e.Offsets[i] + levels) * scale,
                    ["min"] = e.Offsets[i] * scale,
                    ["offset"] = e.Offsets[i],
                    ["scale"] = scale,
                });
            }

            section[e.Name] = list;
        }

        return section;
    }

    private static AimetTensorEncoding FromV1(JsonObject o, bool isParameter)
    {
        string name = o["name"]?.GetValue<string>() ?? throw new InvalidDataException("An encoding entry has no 'name'.");
        string dtype = o["dtype"]?.GetValue<string>() ?? "INT";
        if (!dtype.Equals("INT", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"Encoding '{name}' has dtype '{dtype}'; only INT encodings are supported.");
        }

        var scales = o["scale"]?.AsArray().Select(v => v!.GetValue<float>()).ToArray() ?? throw new InvalidDataException($"Encoding '{name}' has no 'scale'.");
        var offsets = o["offset"]?.AsArray().Select(v => (int)v!.GetValue<double>()).ToArray() ?? new int[scales.Length];
        if (offsets.Length == 1 && scales.Length > 1)
        {
            offsets = [.. Enumerable.Repeat(offsets[0], scales.Length)];
        }

        if (offsets.Length != scales.Length || scales.Length == 0 || scales.Any(s => !(s > 0) || !float.IsFinite(s)))
        {
            throw new InvalidDataException($"Encoding '{name}' needs one positive finite scale per offset ({scales.Length} scales, {offsets.Length} offsets).");
        }

        return new AimetTensorEncoding(name, isParameter, o["bw"]?.GetValue<int>() ?? 8, o["is_sym"]?.GetValue<bool>() ?? false, scales, offsets,
            o["block_size"]?.GetValue<int>());
    }

    private static AimetTensorEncoding FromV0(string name, JsonArray list, bool isParameter)
    {
        if (list.Count == 0)
        {
            throw new InvalidDataException($"Encoding '{name}' is empty.");
        }

        var scales = new float[list.Count];
        var offsets = new int[list.Count];
        int bits = 8;
        bool symmetric = false;
        for (int i = 0; i < list.Count; i++)
        {
            var o = list[i]!.AsObject();
            bits = o["bitwidth"]?.GetValue<int>() ?? 8;
            symmetric = o["is_symmetric"] is { } s && (s.GetValueKind() == JsonValueKind.String ? s.GetValue<string>().Equals("True", StringComparison.OrdinalIgnoreCase) : s.GetValue<bool>());
            scales[i] = (float)(o["scale"]?.GetValue<double>() ?? throw new InvalidDataException($"Encoding '{name}'[{i}] has no 'scale'."));
            offsets[i] = (int)Math.Round(o["offset"]?.GetValue<double>() ?? 0, MidpointRounding.ToEven);
            if (!(scales[i] > 0) || !float.IsFinite(scales[i]))
            {
                throw new InvalidDataException($"Encoding '{name}'[{i}] has scale {scales[i].ToString(CultureInfo.InvariantCulture)}; it must be positive and finite.");
            }
        }

        return new AimetTensorEncoding(name, isParameter, bits, symmetric, scales, offsets, null);
    }
}

/// <summary>Writes text to a temporary file beside the destination and moves it into place when complete.</summary>
internal static class AtomicFile
{
    public static void WriteAllText(string path, string text)
    {
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full) ?? ".";
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Cannot write '{path}': folder '{directory}' does not exist.");
        }

        string temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllText(temp, text);
            File.Move(temp, full, overwrite: true);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"Cannot write '{path}': {e.Message}", e);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }
}
