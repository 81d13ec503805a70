using Quant.Net.Onnx.Protobuf;
using Quant.Net.Techniques;
namespace Quant.Net.Onnx;

/// <summary>
/// Post-training quantization of an ONNX model in one call: prepare (BN folding, opset), plan from the config, calibrate
/// activation ranges in ONNX Runtime, compute weight and bias encodings, write the QDQ model.
/// </summary>
public static class OnnxQuantizer
{
    /// <summary>Quantizes a copy of <paramref name="model"/>; the model itself is never modified.</summary>
    /// <param name="model">The FP32 model.</param>
    /// <param name="calibrationData">Samples for activation ranges (not needed in dynamic mode, or when
    /// <paramref name="fixedEncodings"/> covers every activation).</param>
    /// <param name="config">What to quantize and how; defaults to W8 per-channel, A8 asymmetric uint8, MinMax.</param>
    /// <param name="fixedEncodings">Encodings to use as given (for example imported from AIMET) instead of computing them.</param>
    /// <param name="progress">Receives calibration progress and, when <see cref="QuantizationConfig.AdaRound"/> or bias correction
    /// is set, their progress layer by layer and inside each layer (AdaRound's iterations, bias correction's samples) with the
    /// time left for the layer and for the step.</param>
    /// <param name="cancellationToken">Stops the work; nothing is written.</param>
    /// <param name="adaRoundProgress">Receives one report per layer when <see cref="QuantizationConfig.AdaRound"/> is set.</param>
    /// <exception cref="ArgumentException">The config names nodes that do not exist, or a fixed encoding does not fit its tensor.</exception>
    /// <exception cref="InvalidDataException">Calibration data does not match the model's inputs.</exception>
    /// <exception cref="OnnxFormatException">The model is malformed (the message names the node or tensor).</exception>
    public static QuantizationResult Quantize(OnnxModel model, ICalibrationDataSource? calibrationData, QuantizationConfig? config = null,
        IReadOnlyDictionary<string, QuantEncoding>? fixedEncodings = null, IProgress<QuantizationProgress>? progress = null,
        IProgress<AdaRoundLayerReport>? adaRoundProgress = null, CancellationToken cancellationToken = default) =>
        QuantizeWithObservers(model, calibrationData, config, fixedEncodings, null, progress, adaRoundProgress, cancellationToken);

    /// <summary>As the public overload; <paramref name="observers"/> (by tensor name) are already filled, so tensors they cover need no calibration.</summary>
    internal static QuantizationResult QuantizeWithObservers(OnnxModel model, ICalibrationDataSource? calibrationData, QuantizationConfig? config,
        IReadOnlyDictionary<string, QuantEncoding>? fixedEncodings, IReadOnlyDictionary<string, Quant.Net.Observers.IObserver>? observers,
        IProgress<QuantizationProgress>? progress, IProgress<AdaRoundLayerReport>? adaRoundProgress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        config = (config ?? new QuantizationConfig()).Validated();
        fixedEncodings ??= new Dictionary<string, QuantEncoding>();
        calibrationData = CheckedCalibrationData.Of(calibrationData);
        var (prepared, report, opset) = Prepare(model, config);
        if (config.OutlierSmoothing && calibrationData is not null)
        {
            report = report with { SmoothedTensors = OutlierSmoothing.Apply(prepared, config, config.OutlierSmoothingStrength, calibrationData, cancellationToken) };
        }

        if (config.Mode == QuantizationMode.Dynamic)
        {
            var (dynamicModel, weights, nodes) = DynamicWriter.Write(prepared, config);
            return new QuantizationResult(dynamicModel, prepared, report, config, weights, nodes);
        }

        var plan = QuantizationPlan.Build(prepared, config);
        var index = new GraphIndex(prepared.Graph);
        var encodings = ActivationEncodings(prepared, plan, config, fixedEncodings, observers, calibrationData, progress, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        WeightEncodings(plan, index, config, fixedEncodings, encodings);
        plan = BiasScales(plan, index, encodings);
        var (source, rounded) = Techniques(prepared, plan, encodings, opset, config, calibrationData, adaRoundProgress, progress, cancellationToken);
        var quantized = QdqWriter.Write(source, plan, encodings, opset, rounded);
        return new QuantizationResult(quantized, prepared, report, config, [.. plan.Tensors.Select(t => encodings[t.Name])], plan.QuantizedNodes);
    }

    /// <summary>
    /// Step 1: a prepared copy (opset, BatchNorm folded, names, order) and, if asked, cross-layer equalization. The opset
    /// is the one the Q/DQ types need; when the model cannot be converted to 21 and the config allows it, the Q/DQ
    /// operators come from ONNX Runtime's com.microsoft domain at opset 13 instead.
    /// </summary>
    private static (OnnxModel Prepared, PreparationReport Report, QdqOpset Opset) Prepare(OnnxModel model, QuantizationConfig config)
    {
        int opset = RequiredOpset(config);
        bool microsoft = config.QdqDomain == QdqDomain.Microsoft && opset > 13 && model.OpsetVersion < opset;
        if (microsoft && HasBlocks(config))
        {
            throw new ArgumentException("Block-wise weights need ONNX's DequantizeLinear of opset 21; com.microsoft's has no block size. Use qdqDomain auto or onnx.", nameof(config));
        }

        RequireFiniteWeights(model);   // named as the model names them (folding renames weights)
        PreparationReport report;
        OnnxModel prepared;
        try
        {
            (prepared, report) = microsoft ? PrepareForMicrosoftQdq(model) : ModelPreparer.Prepare(model, opset);
        }
        catch (OnnxFormatException e) when (config.QdqDomain == QdqDomain.Auto && opset > 13 && !HasBlocks(config))
        {
            (prepared, report) = PrepareForMicrosoftQdq(model);
            report = report with
            {
                OpsetNotes = [.. report.OpsetNotes, $"Opset {opset} is out of reach ({e.Message}); the 16-bit/4-bit QuantizeLinear/DequantizeLinear are ONNX Runtime's com.microsoft operators at opset {prepared.OpsetVersion}"],
            };
            microsoft = true;
        }

        if (microsoft)
        {
            opset = prepared.OpsetVersion;
        }

        RequireFiniteWeights(prepared);   // again: Constant-node weights are initializers now
        if (config.CrossLayerEqualization)
        {
            report = report with { EqualizedPairs = CrossLayerEqualizer.Apply(prepared, config.HighBiasAbsorption) };
        }

        return (prepared, report, new QdqOpset(opset, microsoft));
    }

    /// <summary>Opset 13 where the model converts to it (what the rest of the pipeline is tested at), else the model's own opset.</summary>
    private static (OnnxModel, PreparationReport) PrepareForMicrosoftQdq(OnnxModel model)
    {
        try
        {
            return ModelPreparer.Prepare(model, 13);
        }
        catch (OnnxFormatException)
        {
            return ModelPreparer.Prepare(model, 1);
        }
    }

    private static bool HasBlocks(QuantizationConfig config) =>
        config.WeightBlockSize is not null || config.OpTypes.Values.Concat(config.Nodes.Values).Any(o => o.WeightBlockSize is not null);

    /// <summary>
    /// Step 2: an encoding for every observed activation — from observers already filled, else from calibration runs
    /// (tensors with a fixed encoding need neither).
    /// </summary>
    private static Dictionary<string, TensorEncoding> ActivationEncodings(OnnxModel prepared, QuantizationPlan plan, QuantizationConfig config,
        IReadOnlyDictionary<string, QuantEncoding> fixedEncodings, IReadOnlyDictionary<string, Quant.Net.Observers.IObserver>? observers,
        ICalibrationDataSource? calibrationData, IProgress<QuantizationProgress>? progress, CancellationToken cancellationToken)
    {
        var encodings = new Dictionary<string, TensorEncoding>(StringComparer.Ordinal);
        foreach (var t in plan.Observed)
        {
            if (!fixedEncodings.ContainsKey(t.Name) && t.FixedRange is { } range)
            {
                encodings[t.Name] = new TensorEncoding(t, QuantEncoding.FromRange(t.Scheme, range.Min, range.Max));
            }
            else if (!fixedEncodings.ContainsKey(t.Name) && observers is not null && observers.TryGetValue(t.Name, out var filled))
            {
                encodings[t.Name] = new TensorEncoding(t, filled.ComputeEncoding(t.Scheme));
            }
        }

        var toObserve = plan.Observed.Where(t => !fixedEncodings.ContainsKey(t.Name) && !encodings.ContainsKey(t.Name)).ToList();
        if (toObserve.Count == 0)
        {
            return encodings;
        }

        if (calibrationData is null)
        {
            throw new ArgumentNullException(nameof(calibrationData), $"Static quantization needs calibration data for {toObserve.Count} activation tensors (for example '{toObserve[0].Name}').");
        }

        var observed = Calibrator.Observe(prepared, toObserve, calibrationData, config, progress, cancellationToken);
        foreach (var t in toObserve)
        {
            encodings[t.Name] = new TensorEncoding(t, observed[t.Name].ComputeEncoding(t.Scheme));
        }

        return encodings;
    }

    /// <summary>
    /// Step 3: fixed encodings as given (checked), shared encodings from their root tensor, weights and constants from
    /// their values — pair-safe where the deployment target's int8 kernels add products in int16 pairs.
    /// </summary>
    private static void WeightEncodings(QuantizationPlan plan, GraphIndex index, QuantizationConfig config, IReadOnlyDictionary<string, QuantEncoding> fixedEncodings,
        Dictionary<string, TensorEncoding> encodings)
    {
        foreach (var t in plan.Tensors)
        {
            if (fixedEncodings.TryGetValue(t.Name, out var given) && t.Role != TensorRole.Bias)
            {
                encodings[t.Name] = new TensorEncoding(t, Check(t, given, index));
            }
            else if (t.SharesEncodingWith is { } root)
            {
                encodings[t.Name] = new TensorEncoding(t, encodings[root].Encoding);
            }
            else if (t.Role is TensorRole.Weight or TensorRole.Constant)
            {
                var init = index.Initializers[t.Name];
                var (data, shape) = (TensorData.ToFloats(init), TensorData.Shape(init));
                RequireFinite(t, data);
                bool pairSafe = TargetArithmetic.NeedsPairSafeWeights(t, plan, index, config);
                encodings[t.Name] = new TensorEncoding(t, WindowBlocks.Encode(t.Scheme, shape, (scheme, encodedShape) => pairSafe
                    ? PairwiseInt16Safety.Encode(scheme, data, encodedShape, roundingSlack: config.AdaRound is null ? 0 : 1)
                    : QuantEncoding.FromTensor(scheme, data, encodedShape)));
            }
        }
    }

    /// <summary>
    /// Step 4: bias scales s_in·s_w; a bias whose codes would not fit int32 (16-bit inputs and weights) stays float and
    /// leaves the plan (ONNX Runtime adds it after dequantizing).
    /// </summary>
    private static QuantizationPlan BiasScales(QuantizationPlan plan, GraphIndex index, Dictionary<string, TensorEncoding> encodings)
    {
        foreach (var t in plan.Tensors.Where(t => t.Role == TensorRole.Bias))
        {
            RequireFinite(t, TensorData.ToFloats(index.Initializers[t.Name]));
            float input = encodings[t.BiasInput!].Encoding!.Scales[0];
            var weight = encodings[t.BiasWeight!].Encoding!.Scales;
            int channels = (int)index.Initializers[t.Name].Dims[0];
            var scales = new float[weight.Length == 1 ? 1 : channels];
            if (weight.Length != 1 && weight.Length != channels)
            {
                throw new OnnxFormatException($"Bias '{t.Name}' has {channels} channels but weight '{t.BiasWeight}' has {weight.Length} scales.");
            }

            for (int c = 0; c < scales.Length; c++)
            {
                scales[c] = Math.Max(input * weight[c], QuantParams.MinScale);
            }

            if (QdqWriter.BiasCodesFit(TensorData.ToFloats(index.Initializers[t.Name]), c => scales[scales.Length == 1 ? 0 : c], BiasCodeLimit))
            {
                encodings[t.Name] = new TensorEncoding(t, null, scales);
            }
        }

        return plan.Tensors.Any(t => t.Role == TensorRole.Bias && !encodings.ContainsKey(t.Name))
            ? QuantizationPlan.From(plan.Tensors.Where(t => t.Role != TensorRole.Bias || encodings.ContainsKey(t.Name)), plan.QuantizedNodes)
            : plan;
    }

    /// <summary>Step 5: AdaRound (weight codes) and bias correction (corrected float biases; their scales stay as computed).</summary>
    private static (OnnxModel Source, IReadOnlyDictionary<string, int[]>? Rounded) Techniques(OnnxModel prepared, QuantizationPlan plan,
        Dictionary<string, TensorEncoding> encodings, QdqOpset opset, QuantizationConfig config, ICalibrationDataSource? calibrationData,
        IProgress<AdaRoundLayerReport>? adaRoundProgress, IProgress<QuantizationProgress>? progress, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, int[]>? rounded = null;
        if (config.AdaRound is { } adaRound)
        {
            if (calibrationData is null)
            {
                throw new ArgumentNullException(nameof(calibrationData), "AdaRound needs calibration data.");
            }

            rounded = AdaRoundPass.Run(prepared, plan, encodings, opset, calibrationData, adaRound, adaRoundProgress, progress, cancellationToken);
        }

        if (!config.BiasCorrection)
        {
            return (prepared, rounded);
        }

        bool analytical = config.BiasCorrectionMethod == BiasCorrectionMethod.Analytical;
        if (calibrationData is null && !analytical)
        {
            throw new ArgumentNullException(nameof(calibrationData), "Empirical bias correction needs calibration data.");
        }

        return (BiasCorrection.Apply(prepared, plan, encodings, opset, rounded, calibrationData, analytical, progress, cancellationToken), rounded);
    }

    /// <summary>
    /// A NaN or infinite weight or bias of a Conv, ConvTranspose, Gemm or MatMul, refused before any rewrite: cross-layer
    /// equalization and outlier smoothing would spread it to their neighbours or fail on it, and dynamic quantization
    /// would write it. Names the tensor, node and element.
    /// </summary>
    private static void RequireFiniteWeights(OnnxModel model)
    {
        var initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in model.Graph.Initializer)
        {
            initializers.TryAdd(t.Name, t);
        }

        foreach (var node in model.Graph.Node.Where(n => n.OpType is "Conv" or "ConvTranspose" or "Gemm" or "MatMul" && n.Domain is "" or "ai.onnx"))
        {
            for (int i = 0; i < node.Input.Count && i < 3; i++)
            {
                if (initializers.TryGetValue(node.Input[i], out var init) && (TensorProto.Types.DataType)init.DataType is TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Float16)
                {
                    var data = TensorData.ToFloats(init);
                    int bad = Array.FindIndex(data, v => !float.IsFinite(v));
                    if (bad >= 0)
                    {
                        throw new OnnxFormatException($"{(i == 2 ? "Bias" : "Weight")} '{init.Name}' of node '{(node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault())}' ({node.OpType}) holds {data[bad]} at element {bad}; quantization needs finite values.");
                    }
                }
            }
        }
    }

    /// <summary>A NaN or infinite weight would give a meaningless scale and NaN outputs: refused, naming the tensor and its node.</summary>
    private static void RequireFinite(PlannedTensor t, float[] data)
    {
        int bad = Array.FindIndex(data, v => !float.IsFinite(v));
        if (bad >= 0)
        {
            throw new OnnxFormatException($"{(t.Role == TensorRole.Bias ? "Bias" : "Weight")} '{t.Name}' of node '{t.Node}' holds {data[bad]} at element {bad}; quantization needs finite values.");
        }
    }

    private static QuantEncoding Check(PlannedTensor t, QuantEncoding given, GraphIndex index)
    {
        if (given.Scheme.BitWidth != t.Scheme.BitWidth || given.Scheme.IsSigned != t.Scheme.IsSigned)
        {
            throw new ArgumentException($"Fixed encoding for '{t.Name}' is {given.Scheme}; the config quantizes it as {t.Scheme}.", nameof(given));
        }

        if (index.Initializers.TryGetValue(t.Name, out var init))
        {
            int expected = given.GetParameterShape(TensorData.Shape(init)).Aggregate(1, (a, b) => a * b);
            if (expected != given.Count)
            {
                throw new ArgumentException($"Fixed encoding for '{t.Name}' has {given.Count} scales; its shape needs {expected}.", nameof(given));
            }
        }

        return given;
    }

    /// <summary>Largest |bias / scale| stored as int32: half the range, leaving room for bias correction.</summary>
    private const double BiasCodeLimit = 1 << 30;

    /// <summary>13 for per-channel int8 Q/DQ; 21 when int4/int16 types or blocked scales are used.</summary>
    internal static int RequiredOpset(QuantizationConfig config)
    {
        bool Needs21(WeightType? w, ActivationType? a, int? block) =>
            (w is { } weights && QuantizationConfig.BitsOf(weights) != 8) || (a is { } activations && QuantizationConfig.FormatOf(activations).Bits != 8) || block is not null;
        return Needs21(config.Weights, config.Activations, config.WeightBlockSize)
            || config.OpTypes.Values.Concat(config.Nodes.Values).Any(o => Needs21(o.Weights, o.Activations, o.WeightBlockSize)) ? 21 : 13;
    }
}
