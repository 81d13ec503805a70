using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Quant.Net.Onnx;

/// <summary>
/// What to quantize and how, in the spirit of AIMET's quantsim config: default weight and activation schemes, per-op-type
/// overrides, excluded nodes, supergroups that quantizers must not split, model input/output quantization. Loadable from
/// and savable to JSON (camelCase names, enums as strings; unknown properties are rejected so typos do not pass silently).
/// </summary>
public sealed record QuantizationConfig
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Members(builder, this);

    /// <summary>Static (default) or dynamic quantization.</summary>
    public QuantizationMode Mode { get; init; } = QuantizationMode.Static;

    /// <summary>
    /// The integer arithmetic the model will run on (default <see cref="DeploymentTarget.Portable"/>: exact on every ONNX
    /// Runtime CPU path). See <see cref="DeploymentTarget"/> for what each target changes.
    /// </summary>
    public DeploymentTarget Target { get; init; } = DeploymentTarget.Portable;

    /// <summary>
    /// Where the Q/DQ operators come from (default <see cref="QdqDomain.Auto"/>: ONNX's, after opset conversion, with
    /// ONNX Runtime's <c>com.microsoft</c> operators when a model cannot be moved to opset 21 for 16-bit or 4-bit types).
    /// </summary>
    public QdqDomain QdqDomain { get; init; } = QdqDomain.Auto;

    /// <summary>Activation data type (default uint8).</summary>
    public ActivationType Activations { get; init; } = ActivationType.UInt8;

    /// <summary>Symmetric activation encodings (zero point at the middle code); default asymmetric.</summary>
    public bool SymmetricActivations { get; init; }

    /// <summary>Weight data type (default int8).</summary>
    public WeightType Weights { get; init; } = WeightType.Int8;

    /// <summary>One scale per output channel (default) instead of one per tensor.</summary>
    public bool PerChannelWeights { get; init; } = true;

    /// <summary>
    /// Symmetric 8- and 16-bit weights use the narrow range [−127, 127] (AIMET's strict symmetric, offset −127), which
    /// every int8 kernel multiplies exactly; false uses the full range [−128, 127] (AIMET's default and its HTP configs,
    /// offset −128). 4-bit weights always use the full range. Null (the default) follows the target
    /// (<see cref="DeploymentTargets.DefaultStrictSymmetric"/>: strict for ONNX Runtime, non-strict for QNN HTP).
    /// </summary>
    public bool? StrictSymmetricWeights { get; init; }

    /// <summary>Whether symmetric 8- and 16-bit weights are narrow: <see cref="StrictSymmetricWeights"/>, or the target's default.</summary>
    [JsonIgnore]
    public bool UsesStrictSymmetricWeights => StrictSymmetricWeights ?? DeploymentTargets.DefaultStrictSymmetric(Target);

    /// <summary>Blocks of this many weights along the reduction axis share a scale (int4 weights); null: per-channel or per-tensor.</summary>
    public int? WeightBlockSize { get; init; }

    /// <summary>Default observer for activation ranges.</summary>
    public ObserverKind Observer { get; init; } = ObserverKind.MinMax;

    /// <summary>Percentile used by <see cref="ObserverKind.Percentile"/>.</summary>
    public double Percentile { get; init; } = 99.99;

    /// <summary>Observer overrides for individual tensors (tensor name → observer).</summary>
    public IReadOnlyDictionary<string, ObserverKind> TensorObservers { get; init; } = new Dictionary<string, ObserverKind>();

    /// <summary>Per-op-type overrides (op type → settings).</summary>
    public IReadOnlyDictionary<string, OpTypeConfig> OpTypes { get; init; } = new Dictionary<string, OpTypeConfig>();

    /// <summary>Nodes left in FP32 (by node name).</summary>
    public IReadOnlyList<string> ExcludedNodes { get; init; } = [];

    /// <summary>
    /// Overrides for single nodes by name (a mixed-precision plan: weight and activation types per layer); they take
    /// precedence over <see cref="OpTypes"/>, which take precedence over the defaults. A node's activation type applies
    /// to the tensors it is first to quantize (its output; its input when that is a model input).
    /// </summary>
    public IReadOnlyDictionary<string, OpTypeConfig> Nodes { get; init; } = new Dictionary<string, OpTypeConfig>();

    /// <summary>
    /// Op sequences fused by runtimes: no quantizer is placed between their members (for example Conv+Relu runs as one
    /// QLinearConv with the ReLU folded into the output range; MatMul then Add of a constant is a linear layer with its
    /// bias, as PyTorch exports it for 3-D inputs). An Add after the first member must add a constant.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<string>> Supergroups { get; init; } =
        [["Conv", "Relu"], ["Conv", "Clip"], ["ConvTranspose", "Relu"], ["Gemm", "Relu"], ["MatMul", "Add", "Relu"], ["MatMul", "Add"], ["MatMul", "Relu"],
            ["Add", "Relu"], ["Gemm", "Clip"], ["Add", "Clip"]];

    /// <summary>
    /// Quantize the float inputs and output of every default-domain op, not only the curated list (ONNX Runtime's
    /// <c>get_qdq_config</c> with all op types, AIMET's default quantsim config): float-compute ops such as Pow, Sqrt,
    /// Div, Exp, Log, Erf, Neg or Abs then get quantized boundaries. Shape, index, control-flow and random ops never do.
    /// </summary>
    public bool QuantizeAllOperators { get; init; }

    /// <summary>
    /// SmoothQuant-style outlier migration before calibration (on by default; needs calibration data and is skipped
    /// without it): each activation quantized per tensor into MatMul/Gemm weights may have its channels divided by
    /// s_j = max|X_j|^α / max|W_j|^(1−α) and the weights' rows multiplied by it, folded into a LayerNorm's γ and β where
    /// nothing else reads its output, else applied by a float Mul on the MatMuls' edge. With the default
    /// <see cref="OutlierSmoothingStrength"/> an activation is smoothed only where that lowers its layers' error.
    /// </summary>
    public bool OutlierSmoothing { get; init; } = true;

    /// <summary>
    /// The migration strength α in [0, 1] for <see cref="OutlierSmoothing"/>; null (the default) chooses it per
    /// activation — the strength of 0.3 … 0.9, or no smoothing, that best reproduces the layers' float outputs on the
    /// calibration data with activations and weights quantized as planned.
    /// </summary>
    public double? OutlierSmoothingStrength { get; init; }

    /// <summary>
    /// Quantize every supported op end to end, as an all-integer accelerator (an NPU) runs the graph. By default (false)
    /// a transformer's residual stream stays float where no integer kernel reads it: LayerNorm inputs, elementwise ops
    /// whose results only float ops read (residual Adds, embedding sums) and MatMul results read only in float (ONNX
    /// Runtime's integer MatMul then writes float). Integer kernels still get 8-bit inputs; convolutional networks are
    /// unaffected. Measured on pretrained BERT encoders, see the README.
    /// </summary>
    public bool FullInteger { get; init; }

    /// <summary>Quantize model inputs that feed quantized ops.</summary>
    public bool QuantizeModelInputs { get; init; } = true;

    /// <summary>Quantize model outputs produced by quantized ops.</summary>
    public bool QuantizeModelOutputs { get; init; } = true;

    /// <summary>Quantize biases to int32 with scale = input scale × weight scale (what integer runtimes need).</summary>
    public bool QuantizeBias { get; init; } = true;

    /// <summary>Cross-layer equalization of Conv/Gemm → [Relu] → Conv/Gemm pairs before calibration (the FP32 function is unchanged).</summary>
    public bool CrossLayerEqualization { get; init; }

    /// <summary>With <see cref="CrossLayerEqualization"/>: move biases that ReLU never cuts into the next layer (needs folded BatchNorm statistics).</summary>
    public bool HighBiasAbsorption { get; init; } = true;

    /// <summary>
    /// Empirical bias correction after rounding: each quantized layer's mean output shift on the calibration data is
    /// absorbed into its bias (layers with a quantized bias).
    /// </summary>
    public bool BiasCorrection { get; init; }

    /// <summary>
    /// How <see cref="BiasCorrection"/> measures the shift: <see cref="BiasCorrectionMethod.Empirical"/> on the calibration
    /// data, or <see cref="BiasCorrectionMethod.Analytical"/> from folded BatchNorm statistics where a layer's input has
    /// them (empirical elsewhere when calibration data is given).
    /// </summary>
    public BiasCorrectionMethod BiasCorrectionMethod { get; init; } = BiasCorrectionMethod.Empirical;

    /// <summary>AdaRound settings; null keeps round-to-nearest weights. Runs after calibration, layer by layer, on the calibration data.</summary>
    public Quant.Net.Rounding.AdaRoundOptions? AdaRound { get; init; }

    /// <summary>Samples per ONNX Runtime call during calibration (models with a fixed batch of 1 run one at a time).</summary>
    public int CalibrationBatchSize { get; init; } = 16;

    /// <summary>The options of <see cref="ToJson"/> and <see cref="FromJson"/> (internal for the schema tests).</summary>
    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { ShapeContract } },
    };

    /// <summary>The name of the top-level member that points an editor at the schema (<see cref="JsonSchema"/>).</summary>
    internal const string SchemaReferenceName = "$schema";

    private static readonly Lazy<string> Schema = new(ReadSchema);

    /// <summary>
    /// The JSON Schema (draft 2020-12) of the JSON that <see cref="ToJson"/> writes and <see cref="FromJson"/> reads: every
    /// member with its type, allowed values, default and description. The package also carries it as
    /// <c>quantization-config.schema.json</c> (copied to the build output); a config file may name it in a top-level
    /// <c>"$schema"</c> string, which <see cref="FromJson"/> ignores and <see cref="ToJson"/> never writes.
    /// </summary>
    public static string JsonSchema => Schema.Value;

    /// <summary>
    /// The starting configuration for a deployment target: the defaults with <see cref="Target"/> set for ONNX Runtime's
    /// targets; for <see cref="DeploymentTarget.QnnHtp"/> what AIMET's HTP quantsim config says (non-strict symmetric
    /// per-channel weights, per-tensor for MatMul, Gemm and normalizations; every op's output quantized except those that
    /// move values; float biases, which QNN quantizes; Softmax and Sigmoid on a fixed [0, 1] range).
    /// </summary>
    public static QuantizationConfig ForTarget(DeploymentTarget target) =>
        target == DeploymentTarget.QnnHtp ? HtpPreset.Config() : new QuantizationConfig { Target = target }.Validated();

    /// <summary>The configuration as JSON (every member, no <c>"$schema"</c>).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>
    /// Reads a configuration from JSON; missing members keep their defaults, and a top-level <c>"$schema"</c> string (the
    /// path or URL of <see cref="JsonSchema"/>, for editors) is ignored.
    /// </summary>
    /// <exception cref="ArgumentException">The JSON is malformed, has an unknown member or an invalid value (the message names it).</exception>
    public static QuantizationConfig FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        QuantizationConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<QuantizationConfig>(json, Json);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"Invalid quantization config{(e.Path is null ? "" : $" at '{e.Path}'")}: {JsonMessages.Describe(e.Message)}", nameof(json), e);
        }

        return (config ?? throw new ArgumentException("The quantization config is empty (null).", nameof(json))).Validated();
    }

    /// <summary>
    /// Reads a configuration from a JSON file: ours, or an AIMET quantsim config (told apart by content; mapped by
    /// <see cref="AimetQuantsimConfig.Import"/>, whose list of ignored keys <see cref="AimetQuantsimConfig.Load"/> returns).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ArgumentException">The JSON is invalid (see <see cref="FromJson"/> and <see cref="AimetQuantsimConfig.Import"/>).</exception>
    public static QuantizationConfig Load(string path) => LoadWithImport(path).Config;

    /// <summary>As <see cref="Load"/>, with what the AIMET import made of the file (null for our own format).</summary>
    internal static (QuantizationConfig Config, AimetConfigImport? Aimet) LoadWithImport(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Config file '{path}' does not exist.", path);
        }

        string json = ReadConfigText(path);
        if (AimetQuantsimConfig.IsAimetConfig(json))
        {
            var imported = AimetQuantsimConfig.Import(json);
            return (imported.Config, imported);
        }

        return (FromJson(json), null);
    }

    /// <summary>
    /// Lets a config file name its schema: a top-level <c>"$schema"</c> string is read and dropped (any other type is an
    /// error, as for every member), and never written. Members marked <see cref="JsonIgnoreAttribute"/> (values derived
    /// from others, such as <see cref="UsesStrictSymmetricWeights"/>) are dropped from the contract, so a file that sets
    /// one is refused as unknown instead of read and silently ignored.
    /// </summary>
    private static void ShapeContract(JsonTypeInfo info)
    {
        if (info.Kind == JsonTypeInfoKind.Object)
        {
            for (int i = info.Properties.Count - 1; i >= 0; i--)
            {
                if (info.Properties[i].AttributeProvider?.GetCustomAttributes(typeof(JsonIgnoreAttribute), inherit: true) is [JsonIgnoreAttribute { Condition: JsonIgnoreCondition.Always }])
                {
                    info.Properties.RemoveAt(i);
                }
            }
        }

        if (info.Type != typeof(QuantizationConfig))
        {
            return;
        }

        var reference = info.CreateJsonPropertyInfo(typeof(string), SchemaReferenceName);
        reference.Set = static (_, value) =>
        {
            if (value is null)
            {
                throw new JsonException($"{SchemaReferenceName} must be a string (the path or URL of the schema), not null.");
            }
        };
        info.Properties.Insert(0, reference);
    }

    private static string ReadSchema()
    {
        using var stream = typeof(QuantizationConfig).Assembly.GetManifestResourceStream("Quant.Net.Onnx.quantization-config.schema.json")
            ?? throw new InvalidOperationException("The assembly carries no quantization-config.schema.json resource.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>A config file's text, read by its reported size (a device or FIFO reads as empty, never forever).</summary>
    /// <exception cref="ArgumentException">The file cannot be read (named).</exception>
    internal static string ReadConfigText(string path)
    {
        try
        {
            return BoundedFile.ReadAllText(path);
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException($"Config file {e.Message}", nameof(path), e);
        }
    }

    /// <summary>Checks value ranges, and that no list or map is null or holds null; returns this configuration.</summary>
    /// <exception cref="ArgumentException">A value is out of range, or a list or map is null or holds null (the message names it).</exception>
    public QuantizationConfig Validated()
    {
        ValidateNoNulls();
        if (Percentile is <= 50 or > 100 || double.IsNaN(Percentile))
        {
            throw new ArgumentException($"percentile must be in (50, 100]; got {Percentile}.", nameof(Percentile));
        }

        if (!Enum.IsDefined(Target))
        {
            throw new ArgumentException($"target must be one of {string.Join(", ", DeploymentTargets.Names)}; got {(int)Target}.", nameof(Target));
        }

        if (OutlierSmoothingStrength is { } alpha && !(alpha is >= 0 and <= 1))
        {
            throw new ArgumentException($"outlierSmoothingStrength must be in [0, 1]; got {alpha}.", nameof(OutlierSmoothingStrength));
        }

        if (CalibrationBatchSize < 1)
        {
            throw new ArgumentException($"calibrationBatchSize must be at least 1; got {CalibrationBatchSize}.", nameof(CalibrationBatchSize));
        }

        foreach (var (op, range) in OpTypes.Concat(Nodes).Where(kv => kv.Value.OutputRange is not null).Select(kv => (kv.Key, kv.Value.OutputRange!)))
        {
            if (range.Count != 2 || !float.IsFinite(range[0]) || !float.IsFinite(range[1]) || !(range[0] <= 0 && range[1] > range[0]))
            {
                throw new ArgumentException($"outputRange for '{op}' must be [min, max] with min ≤ 0 < max; got [{string.Join(", ", range)}].", nameof(OpTypes));
            }
        }

        foreach (var (op, c) in OpTypes.Concat(Nodes).Select(kv => (kv.Key, (int?)kv.Value.WeightBlockSize)).Append(("default", WeightBlockSize)))
        {
            if (c is { } b && (b < 2 || (b & (b - 1)) != 0))
            {
                throw new ArgumentException($"weightBlockSize for '{op}' must be a power of two of at least 2; got {b}.", nameof(WeightBlockSize));
            }
        }

        foreach (var group in Supergroups)
        {
            if (group is null || group.Count < 2)
            {
                throw new ArgumentException("every supergroup must list at least two op types.", nameof(Supergroups));
            }
        }

        return this;
    }

    /// <summary>
    /// Lists and maps are never null and hold no null entries: JSON's <c>null</c> reaches them unchecked (a nullable
    /// annotation does not stop the serializer), and would fail later as a <see cref="NullReferenceException"/>.
    /// </summary>
    private void ValidateNoNulls()
    {
        static void Require(bool ok, string message, string name)
        {
            if (!ok)
            {
                throw new ArgumentException(message, name);
            }
        }

        Require(TensorObservers is not null, "tensorObservers must be an object (tensor name → observer), not null.", nameof(TensorObservers));
        Require(ExcludedNodes is not null && ExcludedNodes.All(n => n is not null), "excludedNodes must be a list of node names, without null.", nameof(ExcludedNodes));
        Require(Supergroups is not null && Supergroups.All(g => g is null || g.All(op => op is not null)), "supergroups must be a list of op-type lists, without null.", nameof(Supergroups));
        foreach (var (json, name, map) in new[] { ("opTypes", nameof(OpTypes), OpTypes), ("nodes", nameof(Nodes), Nodes) })
        {
            Require(map is not null, $"{json} must be an object, not null.", name);
            foreach (var (key, value) in map!)
            {
                Require(value is not null, $"{json}['{key}'] must be an object of settings, not null.", name);
            }
        }
    }

    internal OpTypeConfig For(string opType, string? node = null)
    {
        var byType = OpTypes.TryGetValue(opType, out var c) ? c : new OpTypeConfig();
        if (node is null || !Nodes.TryGetValue(node, out var n))
        {
            return byType;
        }

        return new OpTypeConfig
        {
            QuantizeInputs = n.QuantizeInputs ?? byType.QuantizeInputs,
            QuantizeOutput = n.QuantizeOutput ?? byType.QuantizeOutput,
            Weights = n.Weights ?? byType.Weights,
            PerChannelWeights = n.PerChannelWeights ?? byType.PerChannelWeights,
            WeightBlockSize = n.WeightBlockSize ?? byType.WeightBlockSize,
            Activations = n.Activations ?? byType.Activations,
            OutputRange = n.OutputRange ?? byType.OutputRange,
        };
    }

    /// <summary>The weight scheme for one op, with its channel axis (or block axis) resolved.</summary>
    internal QuantScheme WeightScheme(string opType, int channelAxis, int reductionAxis, string? node = null)
    {
        var c = For(opType, node);
        var type = c.Weights ?? Weights;
        int? block = c.WeightBlockSize ?? WeightBlockSize;
        bool perChannel = c.PerChannelWeights ?? PerChannelWeights;
        var granularity = block is { } b ? QuantGranularity.PerBlock(reductionAxis, b)
            : perChannel ? QuantGranularity.PerChannel(channelAxis) : QuantGranularity.PerTensor;
        int bits = BitsOf(type);
        return new QuantScheme(bits, true, true, bits >= 8 && UsesStrictSymmetricWeights, granularity);   // strict: 8- and 16-bit weights narrow ([-127, 127])
    }

    internal QuantScheme ActivationScheme(string? opType, string? node = null)
    {
        var (bits, signed) = FormatOf((opType is null ? null : For(opType, node).Activations) ?? Activations);
        return new QuantScheme(bits, signed, SymmetricActivations);
    }

    /// <summary>Bits of a weight type.</summary>
    internal static int BitsOf(WeightType type) => type switch
    {
        WeightType.Int4 => 4,
        WeightType.Int3 => 3,
        WeightType.Int2 => 2,
        WeightType.Int16 => 16,
        _ => 8,
    };

    /// <summary>Bits and signedness of an activation type.</summary>
    internal static (int Bits, bool Signed) FormatOf(ActivationType type) => type switch
    {
        ActivationType.Int8 => (8, true),
        ActivationType.UInt16 => (16, false),
        ActivationType.Int16 => (16, true),
        ActivationType.UInt4 => (4, false),
        _ => (8, false),
    };

    /// <summary>The weight type with <paramref name="bits"/> bits, or null if there is none.</summary>
    internal static WeightType? WeightTypeFor(int bits) =>
        Enum.GetValues<WeightType>().Where(t => BitsOf(t) == bits).Select(t => (WeightType?)t).FirstOrDefault();

    /// <summary>The activation type with these bits and signedness, or null if there is none.</summary>
    internal static ActivationType? ActivationTypeFor(int bits, bool signed) =>
        Enum.GetValues<ActivationType>().Where(t => FormatOf(t) == (bits, signed)).Select(t => (ActivationType?)t).FirstOrDefault();
}
