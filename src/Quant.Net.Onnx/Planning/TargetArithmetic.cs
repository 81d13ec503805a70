using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx;

/// <summary>Where a deployment target changes the encodings the quantizer picks.</summary>
internal static class TargetArithmetic
{
    /// <summary>Ops ONNX Runtime runs on its u8s8 GEMM kernels when their input and weight are 8-bit.</summary>
    private static readonly HashSet<string> GemmOps = new(StringComparer.Ordinal) { "Conv", "ConvTranspose", "MatMul", "Gemm" };

    /// <summary>
    /// True for an int8 weight of a Conv/ConvTranspose/MatMul/Gemm whose activation input is 8-bit, on a target that may
    /// pair products into a saturating int16. Depthwise convolutions are exempt: ONNX Runtime's depthwise kernels widen
    /// to int16 before multiplying and are exact on every x86 path.
    /// </summary>
    public static bool NeedsPairSafeWeights(PlannedTensor weight, QuantizationPlan plan, GraphIndex index, QuantizationConfig config)
    {
        if (weight.Role != TensorRole.Weight || DeploymentTargets.AccumulatesExactly(config.Target) || weight.Scheme.BitWidth != 8
            || !weight.Scheme.IsSigned || !weight.Scheme.IsSymmetric || weight.Scheme.Granularity.Kind == QuantGranularityKind.PerBlock)
        {
            return false;
        }

        var node = index.Graph.Node.FirstOrDefault(n => n.Name == weight.Node);
        if (node is null || !GemmOps.Contains(node.OpType) || node.Input.Count < 2 || node.Input[1] != weight.Name)
        {
            return false;
        }

        return plan[node.Input[0]] is { Role: TensorRole.Activation, Scheme.BitWidth: 8 } && !IsDepthwise(node, index);
    }

    /// <summary>A Conv whose every group has one input channel (ONNX Runtime's exact depthwise kernels).</summary>
    private static bool IsDepthwise(NodeProto node, GraphIndex index) =>
        node.OpType == "Conv" && OpCatalog.Attribute(node, "group", 1L) > 1 && index.Initializers.TryGetValue(node.Input[1], out var w)
        && w.Dims.Count >= 2 && w.Dims[1] == 1;
}
