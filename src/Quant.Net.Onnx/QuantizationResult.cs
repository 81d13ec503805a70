namespace Quant.Net.Onnx;

/// <summary>The outcome of quantizing a model.</summary>
public sealed class QuantizationResult
{
    internal QuantizationResult(OnnxModel model, OnnxModel prepared, PreparationReport preparation, QuantizationConfig config,
        IReadOnlyList<TensorEncoding> encodings, IReadOnlyList<string> quantizedNodes)
    {
        Model = model;
        PreparedModel = prepared;
        Preparation = preparation;
        Config = config;
        Encodings = encodings;
        QuantizedNodes = quantizedNodes;
    }

    /// <summary>The quantized model (QDQ for static mode; MatMulInteger-based for dynamic mode).</summary>
    public OnnxModel Model { get; }

    /// <summary>The FP32 model after preparation (BatchNorm folded, opset raised): the exact FP32 counterpart of <see cref="Model"/>.</summary>
    public OnnxModel PreparedModel { get; }

    /// <summary>What preparation changed.</summary>
    public PreparationReport Preparation { get; }

    /// <summary>The configuration used.</summary>
    public QuantizationConfig Config { get; }

    /// <summary>Every quantized tensor with its encoding, in graph order.</summary>
    public IReadOnlyList<TensorEncoding> Encodings { get; }

    /// <summary>Names of the nodes that run quantized.</summary>
    public IReadOnlyList<string> QuantizedNodes { get; }
}
