using Quant.Net.Onnx;

namespace Quant.Net.Cli;

/// <summary>Options shared by several commands (one definition each, so their help and parsing never drift apart).</summary>
internal static class CliOptions
{
    public static readonly CliOption Calibration = new("--calibration", "DIR",
        "samples: .npy files (one sample each, named <input>.<id>.npy; any names for a model with one input) or images (PNG, JPEG, BMP, GIF, TGA) for a model with one image input");

    public static readonly CliOption Eval = new("--eval", "DIR", "held-out samples for the score (default: the calibration samples)");

    public static readonly CliOption Mean = new("--mean", "a,b,c", "image normalization after scaling to [0, 1]: (x − mean) / std", Default: "0");

    public static readonly CliOption Std = new("--std", "a,b,c", "image normalization after scaling to [0, 1]", Default: "1");

    /// <summary>
    /// Weight types. Int3 and Int2 (stored in INT4 initializers, for studying very low bit widths) are for configs and
    /// mixed-precision candidates, not a whole model from the command line.
    /// </summary>
    public static readonly CliChoices<WeightType> WeightTypes = new("--weights", ("int8", WeightType.Int8), ("int4", WeightType.Int4), ("int16", WeightType.Int16))
    {
        NotOffered = [WeightType.Int3, WeightType.Int2],
    };

    /// <summary>Activation types. UInt4 (for networks trained at 4 bits) is for configs: ONNX Runtime's pooling and other ops refuse uint4 tensors.</summary>
    public static readonly CliChoices<ActivationType> ActivationTypes = new("--activations",
        ("uint8", ActivationType.UInt8), ("int8", ActivationType.Int8), ("uint16", ActivationType.UInt16), ("int16", ActivationType.Int16))
    {
        NotOffered = [ActivationType.UInt4],
    };

    public static readonly CliChoices<bool> WeightSymmetries = new("--weight-symmetry", ("strict", true), ("non-strict", false));

    public static readonly CliChoices<DeploymentTarget> Targets = new("--target", [.. Enum.GetValues<DeploymentTarget>().Select(t => (DeploymentTargets.NameOf(t), t))]);

    public static readonly CliChoices<Quant.Net.Onnx.QdqDomain> QdqDomains = new("--qdq-domain",
        ("auto", Quant.Net.Onnx.QdqDomain.Auto), ("onnx", Quant.Net.Onnx.QdqDomain.Onnx), ("microsoft", Quant.Net.Onnx.QdqDomain.Microsoft));

    public static readonly CliOption Weights = WeightTypes.ToOption("TYPE", "weight type", new QuantizationConfig().Weights);

    public static readonly CliOption Activations = ActivationTypes.ToOption("TYPE", "activation type", new QuantizationConfig().Activations);

    public static readonly CliOption PerTensor = new("--per-tensor", null, "one scale per weight tensor instead of per output channel (also drops a config's block size)");

    public static readonly CliOption WeightSymmetry = WeightSymmetries.ToOption("MODE",
        "symmetric 8/16-bit weights: strict uses [-127, 127] (AIMET offset -127), non-strict [-128, 127] (AIMET's default and HTP configs, offset -128); by default strict, non-strict for --target qnn-htp");

    public static readonly CliOption Target = Targets.ToOption("NAME",
        "integer arithmetic the model will run on; portable is exact on every ONNX Runtime CPU, x86-vnni and arm64 saturate on x86 without VNNI; qnn-htp starts from AIMET's HTP settings (with --config, only the arithmetic)",
        new QuantizationConfig().Target);

    public static readonly CliOption QdqDomain = QdqDomains.ToOption("NAME",
        "where the Q/DQ operators come from: auto converts the model to the opset its types need and uses ONNX Runtime's com.microsoft ones for 16/4-bit types when opset 21 is out of reach; microsoft keeps the model's opset",
        new QuantizationConfig().QdqDomain);

    public static readonly CliOption AllOperators = new("--all-ops", null, "quantize the inputs and output of every operator, not only the curated list (Pow, Sqrt, Div, Exp, … get quantized boundaries)");

    public static readonly CliOption FullInteger = new("--full-integer", null, "quantize every supported op end to end, as an all-integer NPU runs it (by default a transformer's residual stream, LayerNorm inputs and MatMul results read only in float stay float)");

    public static readonly CliOption OutlierSmoothing = new("--smoothquant", "auto|off|ALPHA", "SmoothQuant-style outlier migration: outlier channels of activations entering MatMul/Gemm move into the weights, with the strength chosen per activation (auto) or ALPHA in [0, 1]");

    public static readonly CliOption Config = new("--config", "FILE.json", "quantization config (defaults, op-type overrides, excluded nodes, supergroups, target)");

    public static CliOption EvalSamples(int fallback) => new("--eval-samples", "N", "use at most N evaluation samples", Default: fallback.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static CliOption Threads => new("--threads", "N", "ONNX Runtime intra-op threads for the latency figures", Default: "1");

    /// <summary>The model and data options of <see cref="Workload"/>.</summary>
    public static IReadOnlyList<CliOption> Workload => [Calibration, Eval, EvalSamples(64), Mean, Std];
}
