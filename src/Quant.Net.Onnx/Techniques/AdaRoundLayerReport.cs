namespace Quant.Net.Onnx;

/// <summary>Progress of AdaRound over a model: which layer, which of how many, and the iteration within it.</summary>
/// <param name="Layer">Node name.</param>
/// <param name="LayerIndex">0-based position among the layers AdaRound optimizes.</param>
/// <param name="Layers">Number of layers.</param>
/// <param name="NearestMse">Reconstruction MSE of the layer with round-to-nearest weights (after the layer finished).</param>
/// <param name="AdaRoundMse">Reconstruction MSE with the learned rounding (after the layer finished).</param>
public sealed record AdaRoundLayerReport(string Layer, int LayerIndex, int Layers, double NearestMse, double AdaRoundMse);
