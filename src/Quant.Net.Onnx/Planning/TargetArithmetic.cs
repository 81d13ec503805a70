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

        bool depthwise = index.Initializers.TryGetValue(weight.Name, out var w) && w.Dims.Count >= 2 && OpCatalog.IsDepthwiseConv(node, w.Dims[1]);
        return plan[node.Input[0]] is { Role: TensorRole.Activation, Scheme.BitWidth: 8 } && !depthwise;
    }
}
