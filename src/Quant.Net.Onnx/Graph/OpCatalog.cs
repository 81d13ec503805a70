using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>What the quantizer knows about each ONNX operator: where its weights are and how it treats ranges.</summary>
internal static class OpCatalog
{
    /// <summary>Ops with a weight input: index of the weight, the channel axis of per-channel weights, index of the bias.</summary>
    public static WeightRole? Weight(NodeProto node) => node.OpType switch
    {
        "Conv" => new WeightRole(1, 0, 2),
        "ConvTranspose" => new WeightRole(1, 1, 2),
        "Gemm" => new WeightRole(1, Attribute(node, "transB", 0) != 0 ? 0 : 1, 2),
        "MatMul" => new WeightRole(1, -1, -1),
        _ => null,
    };

    /// <summary>
    /// Ops of the curated list whose float inputs (the first <c>count</c>) are quantized, as ONNX Runtime's static QDQ
    /// quantizer and AIMET's default config treat them; null means the op stays in float (unless
    /// <see cref="QuantizationConfig.QuantizeAllOperators"/>). Normalizations quantize their data input only: scale and
    /// bias stay float, as the runtimes' kernels take them.
    /// </summary>
    public static int? QuantizedInputCount(string opType) => opType switch
    {
        "Conv" or "ConvTranspose" or "Gemm" or "MatMul" or "Add" or "Mul" or "Sub" => 2,
        "Concat" => int.MaxValue,
        "Where" => 3,
        "MaxPool" or "AveragePool" or "GlobalAveragePool" or "GlobalMaxPool" or "Relu" or "Clip" or "Sigmoid" or "Tanh"
            or "LeakyRelu" or "HardSigmoid" or "HardSwish" or "Softmax" or "Flatten" or "Reshape" or "Transpose"
            or "Squeeze" or "Unsqueeze" or "Resize" or "Slice" or "Gather" or "Split" or "DepthToSpace" or "SpaceToDepth"
            or "Pad" or "ReduceMean" or "PRelu" or "InstanceNormalization" or "LayerNormalization" or "GroupNormalization"
            or "ArgMax" or "ArgMin" or "GatherElements" or "GatherND" or "Expand" or "Tile" or "Elu" or "Selu" or "Softplus"
            or "Mish" or "Gelu" => 1,
        _ => null,
    };

    /// <summary>
    /// Ops never quantized even when every op's output is asked for: they compute shapes, indices, random numbers or
    /// control flow, or already are quantization ops.
    /// </summary>
    public static bool NeverQuantized(string opType) => opType is "Shape" or "Size" or "Constant" or "ConstantOfShape" or "Range"
        or "NonZero" or "If" or "Loop" or "Scan" or "QuantizeLinear" or "DequantizeLinear" or "DynamicQuantizeLinear" or "Cast" or "CastLike"
        or "RandomNormal" or "RandomUniform" or "RandomNormalLike" or "RandomUniformLike" or "Multinomial" or "Bernoulli"
        or "Identity" or "Dropout" or "EyeLike" or "OneHot" or "TopK" or "NonMaxSuppression" or "Unique";

    /// <summary>
    /// Inputs that parameterise an op rather than carry data (Resize's roi, scales and sizes, Upsample's scales, Pad's
    /// pads and value, Clip's bounds): a float tensor read only there is never quantized, since rounding a scale of 2
    /// to 1.99997 moves every pixel of a nearest-neighbour resize.
    /// </summary>
    public static bool IsParameterInput(NodeProto node, int input) => node.OpType switch
    {
        "Resize" or "Upsample" or "Pad" or "Clip" => input >= 1,
        "Slice" or "Tile" or "Expand" or "Reshape" or "TopK" or "Range" or "ConstantOfShape" => input >= 1,
        _ => false,
    };

    /// <summary>Ops whose output has exactly the input's values rearranged: the output shares the input's encoding.</summary>
    public static bool SharesInputEncoding(string opType) => opType is "MaxPool" or "GlobalMaxPool" or "Flatten" or "Reshape"
        or "Transpose" or "Squeeze" or "Unsqueeze" or "Slice" or "Gather" or "Split" or "DepthToSpace" or "SpaceToDepth"
        or "GatherElements" or "GatherND" or "Expand" or "Tile";

    /// <summary>
    /// A Conv whose every group has one input channel (<paramref name="weightInputChannels"/> is dimension 1 of its
    /// weight): ONNX Runtime runs it on depthwise kernels that widen before multiplying, exact on every x86 path.
    /// </summary>
    public static bool IsDepthwiseConv(NodeProto node, long weightInputChannels) =>
        node.OpType == "Conv" && Attribute(node, "group", 1L) > 1 && weightInputChannels == 1;

    public static long Attribute(NodeProto node, string name, long fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : fallback;

    public static float Attribute(NodeProto node, string name, float fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.F : fallback;
}

/// <summary>Where an op keeps its weight and bias; a negative channel axis counts from the weight's last dimension.</summary>
internal readonly record struct WeightRole(int WeightInput, int ChannelAxis, int BiasInput);
