using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quant.Net.Onnx;

/// <summary>What <see cref="AimetQuantsimConfig.Import"/> made of an AIMET quantsim config file.</summary>
/// <param name="Config">The equivalent <see cref="QuantizationConfig"/> (over the base config given).</param>
/// <param name="Ignored">Each key that has no counterpart here, with what it said and why it is not applied (by JSON path).</param>
/// <param name="HardwareVersion">The file's <c>defaults.hw_version</c> (for example <c>V73</c>), recorded only.</param>
public sealed record AimetConfigImport(QuantizationConfig Config, IReadOnlyList<string> Ignored, string? HardwareVersion)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);
}

/// <summary>
/// AIMET quantsim config JSON (AIMET's <c>default_config.json</c>, <c>htp_quantsim_config_v73.json</c> and the like) mapped
/// onto <see cref="QuantizationConfig"/>: every key of AIMET's schema is read (booleans as AIMET writes them, the strings
/// "True"/"False"), those with a counterpart are applied, the others are listed by path in
/// <see cref="AimetConfigImport.Ignored"/>, and keys outside the schema are refused by path, as AIMET refuses them.
/// </summary>
public static class AimetQuantsimConfig
{
    private static readonly string[] TopLevel = ["defaults", "params", "op_type", "supergroups", "model_input", "model_output", "supergroup_pass_list"];

    /// <summary>Whether <paramref name="json"/> looks like an AIMET quantsim config (a <c>defaults</c> object with <c>ops</c> or <c>params</c>).</summary>
    public static bool IsAimetConfig(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonNode.Parse(json) is JsonObject { } root && root["defaults"] is JsonObject defaults && (defaults.ContainsKey("ops") || defaults.ContainsKey("params"));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Reads an AIMET quantsim config file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ArgumentException">The file is not a valid AIMET quantsim config (the message names the key).</exception>
    public static AimetConfigImport Load(string path, QuantizationConfig? baseConfig = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return File.Exists(path) ? Import(QuantizationConfig.ReadConfigText(path), baseConfig) : throw new FileNotFoundException($"Config file '{path}' does not exist.", path);
    }

    /// <summary>Maps an AIMET quantsim config onto <paramref name="baseConfig"/> (by default a new <see cref="QuantizationConfig"/>).</summary>
    /// <exception cref="ArgumentException">The JSON is not a valid AIMET quantsim config: malformed, a key outside AIMET's schema, or a value of the wrong kind (the message names the key).</exception>
    public static AimetConfigImport Import(string json, QuantizationConfig? baseConfig = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        var reader = new Reader();
        JsonObject root;
        try
        {
            using var document = JsonDocument.Parse(json);
            root = reader.LastWins(document.RootElement, "") as JsonObject ?? throw new ArgumentException("An AIMET quantsim config must be a JSON object.", nameof(json));
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"Invalid AIMET quantsim config: {JsonMessages.Describe(e.Message)}", nameof(json), e);
        }

        var config = reader.Apply(root, baseConfig ?? new QuantizationConfig());
        return new AimetConfigImport(config.Validated(), reader.Ignored, reader.HardwareVersion);
    }

    private sealed class Reader
    {
        public List<string> Ignored { get; } = [];

        /// <summary>The document as nodes, a key given twice taking its last value (as Python's json, which AIMET reads with, does); noted.</summary>
        public JsonNode? LastWins(JsonElement element, string path)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    var o = new JsonObject();
                    foreach (var property in element.EnumerateObject())
                    {
                        string at = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
                        if (o.ContainsKey(property.Name))
                        {
                            Ignored.Add($"{at}: given twice; the last one is used, as AIMET's reader does");
                            o.Remove(property.Name);
                        }

                        o[property.Name] = LastWins(property.Value, at);
                    }

                    return o;
                case JsonValueKind.Array:
                    return new JsonArray([.. element.EnumerateArray().Select(e => LastWins(e, path + "[]"))]);
                default:
                    return JsonValue.Create(element.Clone());
            }
        }

        public string? HardwareVersion { get; private set; }

        public QuantizationConfig Apply(JsonObject root, QuantizationConfig config)
        {
            Keys(root, "", TopLevel);
            foreach (var required in new[] { "defaults", "params", "op_type", "supergroups", "model_input", "model_output" })
            {
                if (!root.ContainsKey(required))
                {
                    throw new ArgumentException($"AIMET quantsim config: '{required}' is missing (AIMET's schema requires it).", nameof(root));
                }
            }

            var defaults = Object(root["defaults"], "defaults");
            Keys(defaults, "defaults", "ops", "params", "strict_symmetric", "unsigned_symmetric", "per_channel_quantization", "hw_version", "supported_kernels");
            var ops = Object(defaults["ops"] ?? new JsonObject(), "defaults.ops");
            Keys(ops, "defaults.ops", "is_input_quantized", "is_output_quantized", "is_symmetric");
            switch (Bool(ops, "is_output_quantized", "defaults.ops"))
            {
                case false:
                    throw new ArgumentException("AIMET quantsim config: defaults.ops.is_output_quantized may only be \"True\".", nameof(root));
                case true:
                    // AIMET quantizes every op's output unless its op type says otherwise: every default-domain op, end to end.
                    config = config with { QuantizeAllOperators = true, FullInteger = true };
                    break;
            }

            if (Bool(ops, "is_input_quantized", "defaults.ops") is { } inputs)
            {
                Ignore("defaults.ops.is_input_quantized", inputs, "inputs are quantized where an integer kernel reads them");
            }

            if (Bool(ops, "is_symmetric", "defaults.ops") is { } symmetricActivations)
            {
                config = config with { SymmetricActivations = symmetricActivations };
            }

            var parameters = Object(defaults["params"] ?? new JsonObject(), "defaults.params");
            Keys(parameters, "defaults.params", "is_quantized", "is_symmetric");
            bool? paramsQuantized = Bool(parameters, "is_quantized", "defaults.params");
            if (paramsQuantized == false)
            {
                Ignore("defaults.params.is_quantized", false, "weights of Conv/Gemm/MatMul are always quantized; exclude nodes to keep them float");
            }

            if (Bool(parameters, "is_symmetric", "defaults.params") == false)
            {
                Ignore("defaults.params.is_symmetric", false, "weights are symmetric (asymmetric weights are not supported)");
            }

            // AIMET's defaults where the file is silent: non-strict symmetric, per-tensor weights.
            config = config with { StrictSymmetricWeights = Bool(defaults, "strict_symmetric", "defaults") ?? false };

            if (Bool(defaults, "unsigned_symmetric", "defaults") == true)
            {
                Ignore("defaults.unsigned_symmetric", true, "activations are asymmetric uint8 by default, which covers non-negative tensors exactly");
            }

            config = config with { PerChannelWeights = Bool(defaults, "per_channel_quantization", "defaults") ?? false };

            if (defaults["hw_version"] is { } hw)
            {
                HardwareVersion = String(hw, "defaults.hw_version");
                Ignored.Add($"defaults.hw_version = {HardwareVersion}: recorded; AIMET's per-version exception rules (MatMul and GroupNorm bit widths) are not applied");
            }

            if (defaults["supported_kernels"] is { } kernels)
            {
                Array(kernels, "defaults.supported_kernels");
                Ignored.Add("defaults.supported_kernels: informational; bit widths come from the config's weights and activations");
            }

            bool? biasQuantized = null;
            foreach (var (name, value) in Object(root["params"], "params"))
            {
                var param = Object(value, $"params.{name}");
                Keys(param, $"params.{name}", "is_quantized", "is_symmetric");
                if (name == "bias")
                {
                    biasQuantized = Bool(param, "is_quantized", "params.bias");
                }

                Param(param, $"params.{name}", name, biasApplies: true);
            }

            // A bias follows params.bias, else defaults.params (AIMET: float biases where the config says so; QNN quantizes them).
            if ((biasQuantized ?? paramsQuantized) is { } quantizeBias)
            {
                config = config with { QuantizeBias = quantizeBias };
            }

            var opTypes = new Dictionary<string, OpTypeConfig>(config.OpTypes, StringComparer.Ordinal);
            foreach (var (op, value) in Object(root["op_type"], "op_type"))
            {
                string path = $"op_type.{op}";
                var o = Object(value, path);
                Keys(o, path, "is_input_quantized", "is_output_quantized", "is_symmetric", "params", "supported_kernels", "per_channel_quantization", "encoding_constraints");
                var c = opTypes.TryGetValue(op, out var existing) ? existing : new OpTypeConfig();
                c = c with
                {
                    QuantizeOutput = Bool(o, "is_output_quantized", path) ?? c.QuantizeOutput,
                    QuantizeInputs = Bool(o, "is_input_quantized", path) ?? c.QuantizeInputs,
                    PerChannelWeights = Bool(o, "per_channel_quantization", path) ?? c.PerChannelWeights,
                };
                if (Bool(o, "is_symmetric", path) is { } symmetric)
                {
                    Ignore($"{path}.is_symmetric", symmetric, "activation symmetry is one setting for the whole model");
                }

                if (o["params"] is { } opParams)
                {
                    foreach (var (name, p) in Object(opParams, $"{path}.params"))
                    {
                        var param = Object(p, $"{path}.params.{name}");
                        Keys(param, $"{path}.params.{name}", "is_quantized", "is_symmetric");
                        Param(param, $"{path}.params.{name}", name, biasApplies: false);
                    }
                }

                if (o["supported_kernels"] is { } opKernels)
                {
                    Array(opKernels, $"{path}.supported_kernels");
                    Ignored.Add($"{path}.supported_kernels: informational");
                }

                if (o["encoding_constraints"] is { } constraints)
                {
                    var range = Object(constraints, $"{path}.encoding_constraints");
                    Keys(range, $"{path}.encoding_constraints", "min", "max");
                    float? min = Number(range, "min", $"{path}.encoding_constraints"), max = Number(range, "max", $"{path}.encoding_constraints");
                    if (min is { } lo && max is { } hi)
                    {
                        c = c with { OutputRange = [lo, hi] };
                    }
                    else
                    {
                        Ignored.Add($"{path}.encoding_constraints: only {(min is null ? "max" : "min")} given; a fixed range needs both (calibration decides)");
                    }
                }

                opTypes[op] = c;
            }

            foreach (var group in Array(root["supergroups"], "supergroups"))
            {
                var g = Object(group, "supergroups[]");
                Keys(g, "supergroups[]", "op_list");
                var list = Array(g["op_list"] ?? throw new ArgumentException("AIMET quantsim config: a supergroup has no 'op_list'.", nameof(root)), "supergroups[].op_list")
                    .Select(v => String(v, "supergroups[].op_list")).ToList();
                Ignored.Add($"supergroups [{string.Join(", ", list)}]: fusions are built in (Conv/Gemm/MatMul with their bias, activation and BatchNorm; Add+Relu), not configured");
            }

            if (root["supergroup_pass_list"] is { } pass)
            {
                Ignored.Add($"supergroup_pass_list [{string.Join(", ", Array(pass, "supergroup_pass_list").Select(v => String(v, "supergroup_pass_list")))}]: not applied");
            }

            var input = Object(root["model_input"], "model_input");
            Keys(input, "model_input", "is_input_quantized");
            if (Bool(input, "is_input_quantized", "model_input") == false)
            {
                throw new ArgumentException("AIMET quantsim config: model_input.is_input_quantized may only be \"True\".", nameof(root));
            }

            var output = Object(root["model_output"], "model_output");
            Keys(output, "model_output", "is_output_quantized");
            if (Bool(output, "is_output_quantized", "model_output") == false)
            {
                throw new ArgumentException("AIMET quantsim config: model_output.is_output_quantized may only be \"True\".", nameof(root));
            }

            return config with { OpTypes = opTypes };
        }

        /// <summary>Notes a parameter's settings that are not applied (<paramref name="biasApplies"/>: the model-wide bias setting, which is).</summary>
        private void Param(JsonObject param, string path, string name, bool biasApplies)
        {
            if (Bool(param, "is_quantized", path) is { } quantized && !(biasApplies && name == "bias"))
            {
                Ignore($"{path}.is_quantized", quantized, name == "bias"
                    ? "biases are quantized (or not) model-wide, as params.bias says"
                    : name is "running_mean" or "running_var" ? "BatchNorm is folded before quantization" : $"'{name}' follows the op's weight setting");
            }

            if (Bool(param, "is_symmetric", path) is { } symmetric)
            {
                Ignore($"{path}.is_symmetric", symmetric, "weights are symmetric (asymmetric weights are not supported)");
            }
        }

        private void Ignore(string path, bool value, string why) => Ignored.Add($"{path} = {(value ? "True" : "False")}: {why}");

        private static void Keys(JsonObject o, string path, params string[] allowed)
        {
            foreach (var (key, _) in o)
            {
                if (!allowed.Contains(key, StringComparer.Ordinal))
                {
                    throw new ArgumentException($"AIMET quantsim config: unknown key '{(path.Length == 0 ? key : $"{path}.{key}")}' (AIMET's schema allows {string.Join(", ", allowed)}).", nameof(o));
                }
            }
        }

        private static JsonObject Object(JsonNode? node, string path) =>
            node as JsonObject ?? throw new ArgumentException($"AIMET quantsim config: '{path}' must be an object.", nameof(node));

        private static JsonArray Array(JsonNode? node, string path) =>
            node as JsonArray ?? throw new ArgumentException($"AIMET quantsim config: '{path}' must be a list.", nameof(node));

        private static string String(JsonNode? node, string path) =>
            node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw new ArgumentException($"AIMET quantsim config: '{path}' must be a string.", nameof(node));

        /// <summary>AIMET's booleans: the strings "True"/"False" (JSON true/false accepted too).</summary>
        private static bool? Bool(JsonObject o, string key, string path)
        {
            if (o[key] is not { } node)
            {
                return null;
            }

            return node.GetValueKind() switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.String when node.GetValue<string>() == "True" => true,
                JsonValueKind.String when node.GetValue<string>() == "False" => false,
                _ => throw new ArgumentException($"AIMET quantsim config: '{path}.{key}' must be \"True\" or \"False\"; got {node.ToJsonString()}.", nameof(o)),
            };
        }

        private static float? Number(JsonObject o, string key, string path)
        {
            if (o[key] is not { } node)
            {
                return null;
            }

            return node.GetValueKind() == JsonValueKind.Number ? (float)node.GetValue<double>()
                : throw new ArgumentException($"AIMET quantsim config: '{path}.{key}' must be a number; got {node.ToJsonString()}.", nameof(o));
        }
    }
}
