namespace Quant.Net.Onnx;

/// <summary>
/// The <see cref="DeploymentTarget.QnnHtp"/> preset: what AIMET's HTP quantsim config (<c>htp_quantsim_config_v73.json</c>)
/// says, mapped as <see cref="AimetQuantsimConfig.Import"/> maps it (a test checks the two agree).
/// </summary>
internal static class HtpPreset
{
    /// <summary>Op types whose outputs HTP leaves on their input's grid (they move or select values) or in float (Cast, NonZero).</summary>
    private static readonly string[] OutputNotQuantized =
    [
        "Cast", "BatchPermutation", "ChannelShuffle", "CropAndResize", "DepthToSpace", "Expand", "Dropout", "Upsample", "SpaceToDepth",
        "BatchToSpace", "SpaceToBatch", "NonMaxSuppression", "Gather", "GatherND", "MaxPool", "MaxRoiPool", "Mean", "NonZero", "Pad",
        "ReduceMax", "ReduceMin", "Reshape", "ScatterElements", "Slice", "Split", "Squeeze", "Tile", "TopK", "Transpose",
    ];

    /// <summary>Op types with per-tensor weights on HTP (MatMul and Gemm: their weight may be an activation; normalizations).</summary>
    private static readonly string[] PerTensor =
        ["Gather", "Gemm", "GroupNormalization", "LayerNormalization", "BatchNormalization", "InstanceNormalization", "MatMul", "RMSNormalization"];

    public static QuantizationConfig Config()
    {
        var opTypes = new Dictionary<string, OpTypeConfig>(StringComparer.Ordinal);
        foreach (var op in OutputNotQuantized)
        {
            opTypes[op] = new OpTypeConfig { QuantizeOutput = false };
        }

        foreach (var op in PerTensor)
        {
            opTypes[op] = (opTypes.TryGetValue(op, out var c) ? c : new OpTypeConfig()) with { PerChannelWeights = false };
        }

        opTypes["Sigmoid"] = new OpTypeConfig { OutputRange = [0f, 1f] };
        opTypes["Softmax"] = new OpTypeConfig { OutputRange = [0f, 1f] };
        return new QuantizationConfig
        {
            Target = DeploymentTarget.QnnHtp,
            StrictSymmetricWeights = false,
            PerChannelWeights = true,
            QuantizeAllOperators = true,
            FullInteger = true,
            QuantizeBias = false,
            OpTypes = opTypes,
        };
    }
}
