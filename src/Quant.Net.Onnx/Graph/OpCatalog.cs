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

    /// <summary>Ops whose float inputs (the first <c>count</c>) are quantized; null means the op stays in float.</summary>
    public static int? QuantizedInputCount(string opType) => opType switch
    {
        "Conv" or "ConvTranspose" or "Gemm" or "MatMul" or "Add" or "Mul" or "Sub" => 2,
        "Concat" => int.MaxValue,
        "MaxPool" or "AveragePool" or "GlobalAveragePool" or "GlobalMaxPool" or "Relu" or "Clip" or "Sigmoid" or "Tanh"
            or "LeakyRelu" or "HardSigmoid" or "HardSwish" or "Softmax" or "Flatten" or "Reshape" or "Transpose"
            or "Squeeze" or "Unsqueeze" or "Resize" or "Slice" or "Gather" or "Split" or "DepthToSpace" or "SpaceToDepth"
            or "Pad" or "ReduceMean" => 1,
        _ => null,
    };

    /// <summary>Ops whose output has exactly the input's values rearranged: the output shares the input's encoding.</summary>
    public static bool SharesInputEncoding(string opType) => opType is "MaxPool" or "GlobalMaxPool" or "Flatten" or "Reshape"
        or "Transpose" or "Squeeze" or "Unsqueeze" or "Slice" or "Gather" or "Split" or "DepthToSpace" or "SpaceToDepth";

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

    /// <summary>
    /// Opset versions at which an operator changed in a way that breaks a model written for an older version (attributes
    /// turned into inputs, changed defaults or semantics). Moving a node across one of them is refused.
    /// Ops missing here are unknown to us and not moved at all.
    /// </summary>
    private static readonly Dictionary<string, int[]> BreakingVersions = new(StringComparer.Ordinal)
    {
        ["Abs"] = [], ["Add"] = [7], ["And"] = [7], ["ArgMax"] = [], ["ArgMin"] = [], ["AveragePool"] = [7], ["BatchNormalization"] = [9],
        ["Cast"] = [], ["Ceil"] = [], ["Clip"] = [11], ["Concat"] = [4], ["Constant"] = [], ["ConstantOfShape"] = [], ["Conv"] = [],
        ["ConvTranspose"] = [], ["DepthToSpace"] = [], ["Div"] = [7], ["Dropout"] = [7, 12], ["Elu"] = [], ["Equal"] = [7], ["Erf"] = [],
        ["Exp"] = [], ["Expand"] = [], ["Flatten"] = [], ["Floor"] = [], ["Gather"] = [], ["Gemm"] = [7], ["GlobalAveragePool"] = [],
        ["GlobalMaxPool"] = [], ["Greater"] = [7], ["HardSigmoid"] = [], ["HardSwish"] = [], ["Identity"] = [], ["InstanceNormalization"] = [],
        ["LeakyRelu"] = [], ["Less"] = [7], ["Log"] = [], ["LRN"] = [], ["MatMul"] = [], ["Max"] = [], ["MaxPool"] = [], ["Mean"] = [],
        ["Min"] = [], ["Mul"] = [7], ["Neg"] = [], ["Not"] = [], ["Or"] = [7], ["Pad"] = [11], ["Pow"] = [7], ["PRelu"] = [7],
        ["Reciprocal"] = [], ["ReduceMax"] = [18], ["ReduceMean"] = [18], ["ReduceMin"] = [18], ["ReduceProd"] = [18], ["ReduceSum"] = [13],
        ["Relu"] = [], ["Reshape"] = [5], ["Resize"] = [11, 13, 18, 19], ["Shape"] = [], ["Sigmoid"] = [], ["Slice"] = [10], ["Softmax"] = [13],
        ["LogSoftmax"] = [13], ["Softplus"] = [], ["Split"] = [13, 18], ["Sqrt"] = [], ["Squeeze"] = [13], ["Sub"] = [7], ["Sum"] = [],
        ["Tanh"] = [], ["Tile"] = [6], ["TopK"] = [10], ["Transpose"] = [], ["Unsqueeze"] = [13], ["Upsample"] = [10], ["Where"] = [],
        ["QuantizeLinear"] = [], ["DequantizeLinear"] = [],
    };

    /// <summary>Why a node cannot be moved from opset <paramref name="from"/> to <paramref name="to"/>, or null if it can.</summary>
    public static string? UpgradeBlocker(NodeProto node, int from, int to)
    {
        if (node.Domain is not ("" or "ai.onnx"))
        {
            return null;
        }

        if (!BreakingVersions.TryGetValue(node.OpType, out var versions))
        {
            return $"{node.OpType} is not known to keep its meaning between opset {from} and {to}";
        }

        // BatchNormalization 9 only dropped `spatial` (spatial = 1 became the only behaviour): fixed up by the caller.
        if (node.OpType == "BatchNormalization" && Attribute(node, "spatial", 1) == 1)
        {
            return null;
        }

        int breaking = versions.FirstOrDefault(v => v > from && v <= to);
        return breaking == 0 ? null : $"{node.OpType} changed meaning in opset {breaking}";
    }
}

/// <summary>Where an op keeps its weight and bias; a negative channel axis counts from the weight's last dimension.</summary>
internal readonly record struct WeightRole(int WeightInput, int ChannelAxis, int BiasInput);
