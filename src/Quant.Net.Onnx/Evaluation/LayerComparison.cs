namespace Quant.Net.Onnx;

/// <summary>Error of one quantized activation inside the network (quantization of all earlier layers included).</summary>
/// <param name="Tensor">Activation tensor name.</param>
/// <param name="Node">The node that quantizes it.</param>
/// <param name="SqnrDecibels">SQNR of the quantized model's tensor against the FP32 model's.</param>
/// <param name="CosineSimilarity">Cosine similarity of the two.</param>
/// <param name="MeanSquaredError">Mean squared difference of the two.</param>
public sealed record LayerComparison(string Tensor, string Node, double SqnrDecibels, double CosineSimilarity, double MeanSquaredError);
