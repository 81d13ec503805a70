using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quant.Net.Onnx;

/// <summary>
/// AIMET encodings JSON, formats 0.6.1, 1.0.0 and 2.0.0, read and written as AIMET's own writer and reader define them:
/// unsigned-domain offsets (<c>x = (q + offset) · scale</c>), strict (−127) and non-strict (−128) symmetric, unsigned
/// symmetric (offset 0), per-tensor, per-channel, per-block (scales in the weight's order with the block axis divided:
/// [O, I/B] for Gemm, [I/B, O] for MatMul, [O, I/B, 1, 1] for Conv), LPBQ and floating-point entries. Biases are not
/// written (AIMET leaves them to the runtime); they are recomputed from input and weight scales on import.
/// </summary>
public static class AimetEncodingsFile
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The encodings of <paramref name="result"/> as AIMET JSON.</summary>
    /// <exception cref="ArgumentException">An encoding has no AIMET form (a ragged last block, or Conv blocks whose scales differ across the kernel window); the tensor is named.</exception>
    public static string ToJson(QuantizationResult result, AimetEncodingsVersion version)
    {
        ArgumentNullException.ThrowIfNull(result);
        var index = new GraphIndex(result.PreparedModel.Graph);
        var entries = result.Encodings.Where(e => e.Encoding is not null).Select(e => ToAimet(e, index)).ToList();
        return ToJson(entries, version, QuantizerArgs.Of(result.Config, result.Encodings));
    }

    /// <summary>Encodings as AIMET JSON.</summary>
    /// <param name="entries">The entries.</param>
    /// <param name="version">The format.</param>
    /// <param name="config">The config they were made with, for <c>quantizer_args</c> and <c>excluded_layers</c> (by default what the entries themselves say).</param>
    public static string ToJson(IReadOnlyList<AimetTensorEncoding> entries, AimetEncodingsVersion version, QuantizationConfig? config = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return ToJson(entries, version, QuantizerArgs.Of(config, entries));
    }

    private static string ToJson(IReadOnlyList<AimetTensorEncoding> entries, AimetEncodingsVersion version, QuantizerArgs args)
    {
        var root = new JsonObject();
        switch (version)
        {
            case AimetEncodingsVersion.Version200:
                root["version"] = "2.0.0";
                root["producer"] = new JsonObject { ["package"] = "Quant.Net", ["version"] = typeof(AimetEncodingsFile).Assembly.GetName().Version?.ToString() };
                root["encodings"] = new JsonArray([.. entries.Where(e => e.Type != AimetEncodingType.FloatingPoint || e.BitWidth < 16).Select(V2Entry)]);
                return root.ToJsonString(Indented);
            case AimetEncodingsVersion.Version100:
                root["version"] = "1.0.0";
                root["activation_encodings"] = new JsonArray([.. entries.Where(e => !e.IsParameter).Select(V1Entry)]);
                root["param_encodings"] = new JsonArray([.. entries.Where(e => e.IsParameter).Select(V1Entry)]);
                break;
            default:
                root["version"] = "0.6.1";
                root["activation_encodings"] = V0Entries(entries.Where(e => !e.IsParameter));
                root["param_encodings"] = V0Entries(entries.Where(e => e.IsParameter));
                break;
        }

        root["excluded_layers"] = new JsonArray([.. args.ExcludedLayers.Select(n => (JsonNode)n)]);
        root["quantizer_args"] = new JsonObject
        {
            ["activation_bitwidth"] = args.ActivationBits,
            ["dtype"] = "int",
            ["is_symmetric"] = args.SymmetricParams,
            ["param_bitwidth"] = args.ParamBits,
            ["per_channel_quantization"] = args.PerChannel,
            ["quant_scheme"] = args.Scheme,
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

    /// <summary>Reads an AIMET encodings file (0.6.1, 1.0.0 or 2.0.0, told apart by its <c>version</c> and shape).</summary>
    /// <exception cref="InvalidDataException">The file is not a readable AIMET encodings file (the message names the entry).</exception>
    public static IReadOnlyList<AimetTensorEncoding> Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Parse(BoundedFile.ReadAllText(path));
    }

    /// <summary>
    /// Parses AIMET encodings JSON: a full file of any of the three formats, or the bare parameter encodings AdaRound
    /// writes (a 0.6.1 dictionary or a 1.0.0 list without the wrapper).
    /// </summary>
    /// <exception cref="InvalidDataException">Not a readable AIMET encodings document, or an entry is malformed (named).</exception>
    public static IReadOnlyList<AimetTensorEncoding> Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        string entry = "the file";
        try
        {
            // A key given twice is an error at parse time (JsonObject would throw a bare ArgumentException on first access).
            var node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false })
                ?? throw new InvalidDataException("AIMET encodings must be a JSON object.");
            var result = new List<AimetTensorEncoding>();
            if (node is JsonArray bare)
            {
                // AdaRound's 1.0.0 parameter encodings: a list of named entries.
                foreach (var item in bare)
                {
                    entry = item?["name"]?.ToString() ?? "an entry";
                    result.Add(FromV1(item!.AsObject(), isParameter: true));
                }

                return result;
            }

            var root = node as JsonObject ?? throw new InvalidDataException("AIMET encodings must be a JSON object.");
            if (root["version"] is null && root["activation_encodings"] is null && root["param_encodings"] is null && root["encodings"] is null)
            {
                // AdaRound's 0.6.1 parameter encodings: {name: [entry, ...]}.
                foreach (var (name, list) in root)
                {
                    entry = name;
                    result.Add(FromV0(name, list as JsonArray ?? throw new InvalidDataException($"Encoding '{name}' must be a list."), isParameter: true));
                }

                return result;
            }

            string version = root["version"]?.GetValue<string>() ?? "0.6.1";
            if (version is "2.0.0")
            {
                foreach (var item in root["encodings"]?.AsArray() ?? throw new InvalidDataException($"Version {version} encodings have no 'encodings' list."))
                {
                    entry = item?["name"]?.ToString() ?? "an entry";
                    result.Add(FromV2(item!.AsObject()));
                }

                return result;
            }

            if (version is not ("1.0.0" or "0.6.1" or "0.5.1" or "0.5.0" or "0.4.0"))
            {
                throw new InvalidDataException($"Unknown AIMET encodings version '{version}' (0.4.0 to 0.6.1, 1.0.0 and 2.0.0 are read).");
            }

            foreach (var (key, isParameter) in new[] { ("activation_encodings", false), ("param_encodings", true) })
            {
                var section = root[key];
                if (section is null)
                {
                    continue;
                }

                if (version.StartsWith("1.", StringComparison.Ordinal))
                {
                    foreach (var item in section as JsonArray ?? throw new InvalidDataException($"Version {version}: '{key}' must be a list of named entries."))
                    {
                        entry = item?["name"]?.ToString() ?? "an entry";
                        result.Add(FromV1(item!.AsObject(), isParameter));
                    }
                }
                else
                {
                    foreach (var (name, list) in section as JsonObject ?? throw new InvalidDataException($"Version {version}: '{key}' must map tensor names to lists."))
                    {
                        entry = name;
                        result.Add(FromV0(name, list as JsonArray ?? throw new InvalidDataException(list is JsonObject keyed && (keyed.ContainsKey("input") || keyed.ContainsKey("output"))
                            ? $"Encoding '{name}' is keyed by input/output: this is aimet_torch's module encodings (*_torch.encodings), not the tensor encodings file sim.export writes for QNN."
                            : $"Encoding '{name}' must be a list."), isParameter));
                    }
                }
            }

            return result;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException or NullReferenceException or OverflowException)
        {
            throw new InvalidDataException($"Invalid AIMET encodings at {entry}: {JsonMessages.Describe(e.Message)}", e);
        }
    }
    /// <summary>
    /// Matches imported encodings to the tensors the config would quantize in <paramref name="model"/> and converts them
    /// to <see cref="QuantEncoding"/>s, ready for <see cref="OnnxQuantizer.Quantize"/>'s fixed encodings. The file is
    /// honoured: its symmetry and strictness (offset −128 vs −127), granularity and block size are kept; what the config
    /// cannot carry is refused by tensor name rather than reinterpreted.
    /// </summary>
    /// <exception cref="ArgumentException">An encoding does not fit its tensor (bit width, granularity, block size, number of scales), or is a float entry for a tensor the config quantizes; the tensor is named. LPBQ entries import as the per-block encodings they stand for (compressed bits, integer × channel scales).</exception>
    public static IReadOnlyDictionary<string, QuantEncoding> ForModel(IReadOnlyList<AimetTensorEncoding> encodings, OnnxModel model, QuantizationConfig? config = null)
    {
        ArgumentNullException.ThrowIfNull(encodings);
        ArgumentNullException.ThrowIfNull(model);
        config = (config ?? new QuantizationConfig()).Validated();
        var (prepared, _) = ModelPreparer.Prepare(model, OnnxQuantizer.RequiredOpset(config));
        var plan = QuantizationPlan.Build(prepared, config);
        var index = new GraphIndex(prepared.Graph);
        var result = new Dictionary<string, QuantEncoding>(StringComparer.Ordinal);
        foreach (var e in encodings)
        {
            if (plan[e.Name] is not { Role: not TensorRole.Bias } planned)
            {
                continue;
            }

            if (e.Type == AimetEncodingType.FloatingPoint)
            {
                throw new ArgumentException($"Encoding '{e.Name}' keeps it in float{e.BitWidth}; the config quantizes it. Exclude its node ('{planned.Node}') to import this file.", nameof(encodings));
            }

            var entry = e.Type == AimetEncodingType.Lpbq ? LpbqAsBlocks(e, planned) : e;
            if (entry.BitWidth != planned.Scheme.BitWidth)
            {
                throw new ArgumentException($"Encoding '{entry.Name}' has {entry.BitWidth} bits; the config quantizes it at {planned.Scheme.BitWidth}. Configure {entry.BitWidth}-bit {(planned.Role == TensorRole.Activation ? "activations" : "weights")} for it.", nameof(encodings));
            }

            var scheme = planned.Scheme;
            var granularity = scheme.Granularity;
            var (scales, offsets) = (entry.Scales, entry.Offsets);
            switch (entry.Type)
            {
                case AimetEncodingType.PerTensor:
                    granularity = QuantGranularity.PerTensor;
                    break;
                case AimetEncodingType.PerChannel when granularity.Kind != QuantGranularityKind.PerChannel:
                    throw new ArgumentException($"Encoding '{entry.Name}' is per-channel; the config quantizes it {granularity}. Configure per-channel weights for it.", nameof(encodings));
                case AimetEncodingType.PerBlock when granularity.Kind != QuantGranularityKind.PerBlock || granularity.BlockSize != entry.BlockSize:
                    throw new ArgumentException($"Encoding '{entry.Name}' has blocks of {entry.BlockSize}; the config quantizes it {granularity}. Configure a weight block size of {entry.BlockSize} for it.", nameof(encodings));
                case AimetEncodingType.PerBlock:
                    (scales, offsets) = ConvBlocksToOnnx(entry, index, granularity);
                    break;
            }

            // Strict symmetric (−127) is a narrow range; AIMET's default (−128) and asymmetric encodings use every code.
            scheme = new QuantScheme(scheme.BitWidth, scheme.IsSigned, entry.IsSymmetric, entry.IsStrictSymmetric, granularity);
            result[entry.Name] = (entry with { Scales = scales, Offsets = offsets }).ToQuantEncoding(scheme);
        }

        return result;
    }

    /// <summary>
    /// An LPBQ entry as the per-block encoding it stands for: codes of <c>compressed_bw</c> bits, symmetric on the full
    /// range, each block's scale = its integer scale × its channel's float scale (in float32, as a runtime multiplies
    /// them). Blocks are in AIMET's order: [I/B, O] when the block axis is 0 (MatMul), else [O, I/B].
    /// </summary>
    private static AimetTensorEncoding LpbqAsBlocks(AimetTensorEncoding e, PlannedTensor planned)
    {
        var ints = e.PerBlockIntScales ?? throw new ArgumentException($"LPBQ encoding '{e.Name}' has no per-block integer scales.", nameof(e));
        int channels = e.Scales.Count, bits = e.CompressedBitWidth ?? e.BitWidth;
        if (channels == 0 || ints.Count % channels != 0)
        {
            throw new ArgumentException($"LPBQ encoding '{e.Name}' has {ints.Count} block scales for {channels} channels.", nameof(e));
        }

        int perChannel = ints.Count / channels;
        bool channelsInner = planned.Scheme.Granularity is { Kind: QuantGranularityKind.PerBlock, Axis: 0 };
        var scales = new float[ints.Count];
        for (int k = 0; k < scales.Length; k++)
        {
            scales[k] = ints[k] * e.Scales[channelsInner ? k % channels : k / perChannel];
        }

        return new AimetTensorEncoding(e.Name, e.IsParameter, bits, true, scales, [.. scales.Select(_ => -(1 << (bits - 1)))], e.BlockSize);
    }

    /// <summary>
    /// Per-block Conv weights: AIMET keeps one scale per (output channel, block) for the whole kernel window ([O, I/B, 1, 1]);
    /// ONNX's blocked DequantizeLinear wants [O, I/B, kH, kW], so each scale is repeated over the window. Other ops'
    /// layouts agree already.
    /// </summary>
    private static (IReadOnlyList<float> Scales, IReadOnlyList<int> Offsets) ConvBlocksToOnnx(AimetTensorEncoding e, GraphIndex index, QuantGranularity granularity)
    {
        if (!index.Initializers.TryGetValue(e.Name, out var init) || init.Dims.Count <= 2)
        {
            return (e.Scales, e.Offsets);
        }

        var shape = TensorData.Shape(init);
        int window = WindowBlocks.Window(shape);
        if (granularity.Axis != 1 || shape[1] % granularity.BlockSize != 0)
        {
            throw new ArgumentException($"Encoding '{e.Name}': AIMET blocks a Conv weight along its input channels in whole blocks; this weight ({string.Join("×", shape)}) is blocked otherwise.", nameof(e));
        }

        int blocks = shape[0] * (shape[1] / granularity.BlockSize);
        if (e.Scales.Count != blocks)
        {
            throw new ArgumentException($"Encoding '{e.Name}' has {e.Scales.Count} block scales; a {string.Join("×", shape)} weight in blocks of {granularity.BlockSize} needs {blocks} ([O, I/B, 1, 1]).", nameof(e));
        }

        return (WindowBlocks.Expand(e.Scales, window), WindowBlocks.Expand(e.Offsets, window));
    }

    private static AimetTensorEncoding ToAimet(TensorEncoding e, GraphIndex index)
    {
        var enc = e.Encoding!;
        var scheme = enc.Scheme;
        var offsets = new int[enc.Count];
        for (int i = 0; i < offsets.Length; i++)
        {
            offsets[i] = enc[i].ToAimet(scheme.BitWidth, scheme.IsSymmetric).Offset;
        }

        var scales = enc.Scales.ToArray();
        IReadOnlyList<int>? scaleShape = null;
        var g = scheme.Granularity;
        if (index.Initializers.TryGetValue(e.Tensor.Name, out var init))
        {
            var shape = TensorData.Shape(init);
            scaleShape = enc.GetParameterShape(shape);
            if (g.Kind == QuantGranularityKind.PerBlock)
            {
                int axis = g.Axis < 0 ? g.Axis + shape.Length : g.Axis;
                if (shape[axis] % g.BlockSize != 0)
                {
                    throw new ArgumentException($"Encoding of '{e.Tensor.Name}' has a ragged last block ({shape[axis]} inputs in blocks of {g.BlockSize}); AIMET's format has none.", nameof(e));
                }

                if (shape.Length > 2)
                {
                    // Conv: one scale per (output channel, block) for the whole window, as AIMET stores it.
                    int window = WindowBlocks.Window(shape);
                    var shared = new float[scales.Length / window];
                    for (int i = 0; i < shared.Length; i++)
                    {
                        shared[i] = scales[i * window];
                        for (int w = 1; w < window; w++)
                        {
                            if (scales[(i * window) + w] != shared[i] || offsets[(i * window) + w] != offsets[i * window])
                            {
                                throw new ArgumentException($"Encoding of '{e.Tensor.Name}' has different block scales across the kernel window; AIMET's Conv blocks share one scale per (output channel, block).", nameof(e));
                            }
                        }
                    }

                    offsets = [.. Enumerable.Range(0, shared.Length).Select(i => offsets[i * window])];
                    scales = shared;
                    scaleShape = [.. scaleShape.Take(2), .. Enumerable.Repeat(1, shape.Length - 2)];
                }
            }
        }
        else if (g.Kind == QuantGranularityKind.PerChannel)
        {
            scaleShape = [enc.Count];
        }

        return new AimetTensorEncoding(e.Tensor.Name, e.Tensor.Role != TensorRole.Activation, scheme.BitWidth, scheme.IsSymmetric, scales, offsets,
            g.Kind == QuantGranularityKind.PerBlock ? g.BlockSize : null)
        {
            IsSigned = scheme.IsSigned,
            ScaleShape = scaleShape,
            Axis = g.Kind == QuantGranularityKind.PerTensor ? null : g.Axis,
        };
    }

    private static string TypeName(AimetEncodingType type) => type switch
    {
        AimetEncodingType.PerChannel => "PER_CHANNEL",
        AimetEncodingType.PerBlock => "PER_BLOCK",
        AimetEncodingType.Lpbq => "LPBQ",
        _ => "PER_TENSOR",
    };

    private static JsonObject V1Entry(AimetTensorEncoding e)
    {
        if (e.Type == AimetEncodingType.FloatingPoint)
        {
            return new JsonObject { ["name"] = e.Name, ["enc_type"] = "PER_TENSOR", ["dtype"] = "FLOAT", ["bw"] = e.BitWidth };
        }

        var o = new JsonObject
        {
            ["name"] = e.Name,
            ["enc_type"] = TypeName(e.Type),
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

        if (e.Type == AimetEncodingType.Lpbq)
        {
            o["compressed_bw"] = e.CompressedBitWidth;
            o["per_block_int_scale"] = new JsonArray([.. (e.PerBlockIntScales ?? []).Select(s => (JsonNode)s)]);
        }

        return o;
    }

    private static JsonObject V0Entries(IEnumerable<AimetTensorEncoding> entries)
    {
        var section = new JsonObject();
        foreach (var e in entries)
        {
            if (e.Type == AimetEncodingType.FloatingPoint)
            {
                section[e.Name] = new JsonArray(new JsonObject { ["bitwidth"] = e.BitWidth, ["dtype"] = "float" });
                continue;
            }

            if (e.Type is AimetEncodingType.PerBlock or AimetEncodingType.Lpbq)
            {
                throw new ArgumentException($"Encoding of '{e.Name}' is {TypeName(e.Type)}; format 0.6.1 has no blocks. Write 1.0.0 or 2.0.0.", nameof(entries));
            }

            var list = new JsonArray();
            for (int i = 0; i < e.Scales.Count; i++)
            {
                // AIMET's grid: q ∈ [0, 2^bw − 1], or [0, 2^bw − 2] when strict symmetric (so max is 127·scale for int8 either way).
                double scale = e.Scales[i];
                int top = (1 << e.BitWidth) - (e.IsStrictSymmetric ? 2 : 1);
                list.Add(new JsonObject
                {
                    ["bitwidth"] = e.BitWidth,
                    ["dtype"] = "int",
                    ["is_symmetric"] = e.IsSymmetric ? "True" : "False",
                    ["max"] = (e.Offsets[i] + top) * scale,
                    ["min"] = e.Offsets[i] * scale,
                    ["offset"] = e.Offsets[i],
                    ["scale"] = scale,
                });
            }

            section[e.Name] = list;
        }

        return section;
    }

    /// <summary>Format 2.0.0 (ONNX QuantizeLinear terms): output_dtype, y_scale and y_zero_point in the scales' shape, axis, block_size.</summary>
    private static JsonObject V2Entry(AimetTensorEncoding e)
    {
        if (e.Type == AimetEncodingType.Lpbq)
        {
            return V2Lpbq(e);
        }

        int bits = e.BitWidth;
        // ONNX zero points as aimet_onnx writes them: unsigned −offset; signed −offset − 2^(bw−1), so AIMET's strict grid
        // (offset −127) is zero point −1 on int8 — the same values, codes shifted by one — and reads back as strict.
        var zeroPoints = e.Offsets.Select(o => (long)(e.IsSigned ? -o - (1 << (bits - 1)) : -o)).ToArray();
        var shape = e.ScaleShape is { } sh && sh.Aggregate(1, (a, b) => a * b) == e.Scales.Count ? sh : e.Type == AimetEncodingType.PerTensor ? [] : [e.Scales.Count];
        var o = new JsonObject
        {
            ["name"] = e.Name,
            ["output_dtype"] = $"{(e.IsSigned ? "int" : "uint")}{bits}",
            ["y_scale"] = Nest(shape, e.Scales.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray()),
        };
        if (zeroPoints.Any(z => z != 0))
        {
            o["y_zero_point"] = Nest(shape, zeroPoints.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray());
        }

        if (e.Type != AimetEncodingType.PerTensor && e.Axis is { } axis)
        {
            o["axis"] = axis;
        }

        if (e.BlockSize is { } b)
        {
            o["block_size"] = b;
        }

        return o;
    }

    /// <summary>
    /// LPBQ in 2.0.0 as AIMET writes it: no y_scale; per_block_int_scale in the blocks' shape, per_channel_float_scale of
    /// the same rank (1 on the block axis), axis = the block axis, block_size, output_dtype of the compressed codes.
    /// </summary>
    private static JsonObject V2Lpbq(AimetTensorEncoding e)
    {
        var ints = e.PerBlockIntScales ?? throw new ArgumentException($"LPBQ encoding of '{e.Name}' has no per-block integer scales.", nameof(e));
        if (e.Offsets.Any(o => o != -(1 << (e.BitWidth - 1))))
        {
            throw new ArgumentException($"LPBQ encoding of '{e.Name}' is not symmetric; 2.0.0 LPBQ has no zero point.", nameof(e));
        }

        int channels = e.Scales.Count;
        int axis = e.Axis ?? 1;
        IReadOnlyList<int> shape = e.ScaleShape is { } sh && sh.Aggregate(1, (a, b) => a * b) == ints.Count ? sh
            : channels > 0 && ints.Count % channels == 0 ? [channels, ints.Count / channels] : throw new ArgumentException($"LPBQ encoding of '{e.Name}' has {ints.Count} block scales for {channels} channels.", nameof(e));
        var channelShape = shape.Select((d, i) => i == axis ? 1 : d).ToArray();
        if (channelShape.Aggregate(1, (a, b) => a * b) != channels)
        {
            throw new ArgumentException($"LPBQ encoding of '{e.Name}': {channels} channel scales do not fit blocks of shape [{string.Join(", ", shape)}] with block axis {axis}.", nameof(e));
        }

        return new JsonObject
        {
            ["name"] = e.Name,
            ["output_dtype"] = $"int{e.CompressedBitWidth ?? e.BitWidth / 2}",
            ["per_block_int_scale"] = Nest(shape, [.. ints.Select(v => (JsonNode)JsonValue.Create(v)!)]),
            ["per_channel_float_scale"] = Nest(channelShape, [.. e.Scales.Select(v => (JsonNode)JsonValue.Create(v)!)]),
            ["axis"] = axis,
            ["block_size"] = e.BlockSize,
        };
    }

    private static JsonNode Nest(IReadOnlyList<int> shape, JsonNode[] values)
    {
        if (shape.Count == 0)
        {
            return values[0];
        }

        JsonNode Build(int dim, int offset, int stride)
        {
            var array = new JsonArray();
            int inner = stride / shape[dim];
            for (int i = 0; i < shape[dim]; i++)
            {
                array.Add(dim == shape.Count - 1 ? values[offset + i].DeepClone() : Build(dim + 1, offset + (i * inner), inner));
            }

            return array;
        }

        return Build(0, 0, values.Length);
    }

    private static IEnumerable<JsonNode?> Flatten(JsonNode? node) => node is JsonArray a ? a.SelectMany(Flatten) : [node];

    private static int[] Dims(JsonNode? node)
    {
        var dims = new List<int>();
        while (node is JsonArray a)
        {
            dims.Add(a.Count);
            node = a.Count > 0 ? a[0] : null;
        }

        return [.. dims];
    }

    private static AimetTensorEncoding FromV2(JsonObject o)
    {
        string name = o["name"]?.GetValue<string>() ?? throw new InvalidDataException("An encoding entry has no 'name'.");
        string dtype = o["output_dtype"]?.GetValue<string>() ?? throw new InvalidDataException($"Encoding '{name}' has no 'output_dtype'.");
        int? axis = o["axis"]?.GetValue<int>();
        int? blockSize = o["block_size"]?.GetValue<int>();
        if (dtype is "float16" or "float32" or "bfloat16")
        {
            if (o["y_scale"] is not null)
            {
                throw new InvalidDataException($"Encoding '{name}' is a scaled {dtype} encoding; only integer and plain float16/float32 entries are read.");
            }

            return new AimetTensorEncoding(name, false, dtype == "float32" ? 32 : 16, false, [], [], null) { Type = AimetEncodingType.FloatingPoint };
        }

        bool signed = dtype.StartsWith("int", StringComparison.Ordinal);
        if ((!signed && !dtype.StartsWith("uint", StringComparison.Ordinal))
            || !int.TryParse(dtype.AsSpan(signed ? 3 : 4), NumberStyles.None, CultureInfo.InvariantCulture, out int bits) || bits is < 2 or > 32)
        {
            throw new InvalidDataException($"Encoding '{name}' has output_dtype '{dtype}'; int2..int32 and uint2..uint32 (and float16/float32 without a scale) are read.");
        }

        if (o["per_block_int_scale"] is { } intScales)
        {
            var channelScales = Flatten(o["per_channel_float_scale"]).Select(v => v!.GetValue<float>()).ToArray();
            return new AimetTensorEncoding(name, true, 2 * bits, true, channelScales, [.. channelScales.Select(_ => -(1 << ((2 * bits) - 1)))], blockSize)
            {
                Type = AimetEncodingType.Lpbq, CompressedBitWidth = bits, PerBlockIntScales = [.. Flatten(intScales).Select(v => v!.GetValue<int>())],
                IsSigned = true, Axis = axis, ScaleShape = Dims(intScales),
            };
        }

        var scaleNode = o["y_scale"] ?? throw new InvalidDataException($"Encoding '{name}' has no 'y_scale'.");
        var scales = Flatten(scaleNode).Select(v => v!.GetValue<float>()).ToArray();
        var zeroPoints = o["y_zero_point"] is { } z ? Flatten(z).Select(v => ZeroPoint(name, v)).ToArray() : new int[scales.Length];
        if (zeroPoints.Length != scales.Length)
        {
            throw new InvalidDataException($"Encoding '{name}' has {scales.Length} scales and {zeroPoints.Length} zero points.");
        }

        CheckScales(name, scales);
        int half = 1 << (bits - 1);
        var offsets = zeroPoints.Select(zp => signed ? -(zp + half) : -zp).ToArray();
        // Symmetric: signed codes around 0, or AIMET's strict grid as aimet_onnx writes it (offset −2^(b−1)+1 is zero point −1).
        bool symmetric = signed ? zeroPoints.All(zp => zp == 0) || zeroPoints.All(zp => zp == -1) : zeroPoints.All(zp => zp == half);
        var type = blockSize is not null ? AimetEncodingType.PerBlock : scaleNode is JsonArray ? AimetEncodingType.PerChannel : AimetEncodingType.PerTensor;
        return new AimetTensorEncoding(name, false, bits, symmetric, scales, offsets, blockSize)
        {
            Type = type, IsSigned = signed, Axis = axis, ScaleShape = scaleNode is JsonArray ? Dims(scaleNode) : [],
        };
    }

    private static AimetTensorEncoding FromV1(JsonObject o, bool isParameter)
    {
        string name = o["name"]?.GetValue<string>() ?? throw new InvalidDataException("An encoding entry has no 'name'.");
        string dtype = o["dtype"]?.GetValue<string>() ?? "INT";
        int bits = o["bw"]?.GetValue<int>() ?? throw new InvalidDataException($"Encoding '{name}' has no 'bw'.");
        string encType = o["enc_type"]?.GetValue<string>() ?? "PER_TENSOR";
        if (dtype.Equals("FLOAT", StringComparison.OrdinalIgnoreCase))
        {
            return new AimetTensorEncoding(name, isParameter, bits, false, [], [], null) { Type = AimetEncodingType.FloatingPoint };
        }

        if (!dtype.Equals("INT", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"Encoding '{name}' has dtype '{dtype}' (INT or FLOAT).");
        }

        var type = encType switch
        {
            "PER_TENSOR" => AimetEncodingType.PerTensor,
            "PER_CHANNEL" => AimetEncodingType.PerChannel,
            "PER_BLOCK" => AimetEncodingType.PerBlock,
            "LPBQ" => AimetEncodingType.Lpbq,
            _ => throw new InvalidDataException($"Encoding '{name}' has enc_type '{encType}' (PER_TENSOR, PER_CHANNEL, PER_BLOCK or LPBQ are read)."),
        };
        var scales = o["scale"]?.AsArray().Select(v => v!.GetValue<float>()).ToArray() ?? throw new InvalidDataException($"Encoding '{name}' has no 'scale'.");
        var offsets = o["offset"]?.AsArray().Select(v => Offset($"'{name}'", v!.GetValue<double>())).ToArray() ?? throw new InvalidDataException($"Encoding '{name}' has no 'offset'.");
        CheckScales(name, scales);
        if (offsets.Length != scales.Length)
        {
            throw new InvalidDataException($"Encoding '{name}' has {scales.Length} scales and {offsets.Length} offsets.");
        }

        if (type == AimetEncodingType.PerTensor && scales.Length != 1)
        {
            throw new InvalidDataException($"Encoding '{name}' is PER_TENSOR with {scales.Length} scales.");
        }

        int? blockSize = o["block_size"]?.GetValue<int>();
        if (type is AimetEncodingType.PerBlock or AimetEncodingType.Lpbq && blockSize is not > 0)
        {
            throw new InvalidDataException($"Encoding '{name}' is {encType} without a positive 'block_size'.");
        }

        bool symmetric = o["is_sym"]?.GetValue<bool>() ?? throw new InvalidDataException($"Encoding '{name}' has no 'is_sym'.");
        var result = new AimetTensorEncoding(name, isParameter, bits, symmetric, scales, offsets, type is AimetEncodingType.PerBlock or AimetEncodingType.Lpbq ? blockSize : null)
        {
            Type = type, IsSigned = symmetric && !offsets.All(v => v == 0),
        };
        if (type == AimetEncodingType.Lpbq)
        {
            int compressed = o["compressed_bw"]?.GetValue<int>() ?? throw new InvalidDataException($"LPBQ encoding '{name}' has no 'compressed_bw'.");
            var intScales = o["per_block_int_scale"]?.AsArray().Select(v => v!.GetValue<int>()).ToArray() ?? throw new InvalidDataException($"LPBQ encoding '{name}' has no 'per_block_int_scale'.");
            int limit = 1 << (bits - compressed);
            if (compressed >= bits || intScales.Length % scales.Length != 0 || intScales.Any(v => v < 1 || v > limit))
            {
                throw new InvalidDataException($"LPBQ encoding '{name}': compressed_bw {compressed} of bw {bits}, {intScales.Length} integer scales in [1, {limit}] for {scales.Length} channels expected.");
            }

            result = result with { CompressedBitWidth = compressed, PerBlockIntScales = intScales };
        }

        return result;
    }

    private static AimetTensorEncoding FromV0(string name, JsonArray list, bool isParameter)
    {
        if (list.Count == 0)
        {
            throw new InvalidDataException($"Encoding '{name}' is empty.");
        }

        var first = list[0]!.AsObject();
        string dtype = first["dtype"]?.GetValue<string>() ?? "int";
        int bits = first["bitwidth"]?.GetValue<int>() ?? throw new InvalidDataException($"Encoding '{name}' has no 'bitwidth'.");
        if (dtype.Equals("float", StringComparison.OrdinalIgnoreCase))
        {
            return new AimetTensorEncoding(name, isParameter, bits, false, [], [], null) { Type = AimetEncodingType.FloatingPoint };
        }

        var scales = new float[list.Count];
        var offsets = new int[list.Count];
        bool symmetric = false;
        for (int i = 0; i < list.Count; i++)
        {
            var o = list[i]!.AsObject();
            if ((o["bitwidth"]?.GetValue<int>() ?? bits) != bits)
            {
                throw new InvalidDataException($"Encoding '{name}'[{i}] has a different bitwidth from its first channel.");
            }

            var s = o["is_symmetric"];
            bool entrySymmetric = s is not null && (s.GetValueKind() == JsonValueKind.String ? s.GetValue<string>() == "True" : s.GetValue<bool>());
            if (i > 0 && entrySymmetric != symmetric)
            {
                throw new InvalidDataException($"Encoding '{name}'[{i}] differs in is_symmetric from its first channel.");
            }

            symmetric = entrySymmetric;
            scales[i] = (float)(o["scale"]?.GetValue<double>() ?? throw new InvalidDataException($"Encoding '{name}'[{i}] has no 'scale'."));
            offsets[i] = Offset($"'{name}'[{i}]", o["offset"]?.GetValue<double>() ?? throw new InvalidDataException($"Encoding '{name}'[{i}] has no 'offset'."));
        }

        CheckScales(name, scales);
        return new AimetTensorEncoding(name, isParameter, bits, symmetric, scales, offsets, null) { IsSigned = symmetric && !offsets.All(v => v == 0) };
    }

    /// <summary>A 2.0.0 zero point: an integer (AIMET's custom grids with fractional zero points have no integer form).</summary>
    private static int ZeroPoint(string name, JsonNode? node)
    {
        double value = node?.GetValueKind() == JsonValueKind.Number ? node.GetValue<double>() : throw new InvalidDataException($"Encoding '{name}' has a y_zero_point that is not a number.");
        return value == Math.Round(value) && Math.Abs(value) <= int.MaxValue ? (int)value
            : throw new InvalidDataException($"Encoding '{name}' has y_zero_point {value.ToString(CultureInfo.InvariantCulture)}; only integer zero points (ONNX's grid) are read.");
    }

    /// <param name="entry">The entry as messages name it: <c>'name'</c> or <c>'name'[channel]</c>.</param>
    /// <param name="value">The offset read.</param>
    private static int Offset(string entry, double value)
    {
        if (value != Math.Round(value) || value > 0 || value < -(1L << 31))
        {
            throw new InvalidDataException($"Encoding {entry} has offset {value.ToString(CultureInfo.InvariantCulture)}; AIMET offsets are integers ≤ 0 (x = (q + offset)·scale with q ≥ 0).");
        }

        return (int)value;
    }

    private static void CheckScales(string name, float[] scales)
    {
        if (scales.Length == 0 || scales.Any(s => !(s > 0) || !float.IsFinite(s)))
        {
            throw new InvalidDataException($"Encoding '{name}' needs positive finite scales ({scales.Length} given).");
        }
    }

    /// <summary>AIMET's <c>quantizer_args</c> and <c>excluded_layers</c>, from the config a file was made with.</summary>
    private sealed record QuantizerArgs(int ActivationBits, int ParamBits, bool SymmetricParams, bool PerChannel, string Scheme, IReadOnlyList<string> ExcludedLayers)
    {
        public static QuantizerArgs Of(QuantizationConfig? config, IReadOnlyList<TensorEncoding> encodings)
        {
            var activations = encodings.Where(e => e.Encoding is not null && e.Tensor.Role == TensorRole.Activation).Select(e => e.Encoding!.Scheme).ToList();
            var weights = encodings.Where(e => e.Encoding is not null && e.Tensor.Role == TensorRole.Weight).Select(e => e.Encoding!.Scheme).ToList();
            return new QuantizerArgs(
                Mode(activations.Select(s => s.BitWidth)) ?? 8,
                Mode(weights.Select(s => s.BitWidth)) ?? 8,
                weights.Count == 0 || weights.All(s => s.IsSymmetric),
                weights.Count > 0 && weights.Any(s => s.Granularity.Kind != QuantGranularityKind.PerTensor),
                SchemeName(config?.Observer ?? ObserverKind.MinMax),
                config?.ExcludedNodes ?? []);
        }

        public static QuantizerArgs Of(QuantizationConfig? config, IReadOnlyList<AimetTensorEncoding> entries)
        {
            var ints = entries.Where(e => e.Type != AimetEncodingType.FloatingPoint).ToList();
            var weights = ints.Where(e => e.IsParameter).ToList();
            return new QuantizerArgs(
                Mode(ints.Where(e => !e.IsParameter).Select(e => e.BitWidth)) ?? 8,
                Mode(weights.Select(e => e.BitWidth)) ?? 8,
                weights.Count == 0 || weights.All(e => e.IsSymmetric),
                config?.PerChannelWeights ?? weights.Any(e => e.Type != AimetEncodingType.PerTensor),
                SchemeName(config?.Observer ?? ObserverKind.MinMax),
                config?.ExcludedNodes ?? []);
        }

        /// <summary>The most common value (AIMET's defaults are one bit width per kind).</summary>
        private static int? Mode(IEnumerable<int> values) => values.GroupBy(v => v).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Select(g => (int?)g.Key).FirstOrDefault();

        /// <summary>AIMET's quant_scheme: min/max ranges are post_training_tf; searched ones (MSE, SQNR, entropy) tf_enhanced; percentile its own.</summary>
        private static string SchemeName(ObserverKind observer) => observer switch
        {
            ObserverKind.Percentile => "post_training_percentile",
            ObserverKind.Mse or ObserverKind.Sqnr or ObserverKind.Entropy => "post_training_tf_enhanced",
            _ => "post_training_tf",
        };
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
