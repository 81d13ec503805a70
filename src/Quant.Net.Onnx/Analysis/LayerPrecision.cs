using System.Text.Json;
using Quant.Net.Techniques;

namespace Quant.Net.Onnx;

/// <summary>The bit widths chosen for one layer.</summary>
/// <param name="Node">The layer (Conv, Gemm or MatMul with constant weights).</param>
/// <param name="Choice">Its bit widths.</param>
/// <param name="Parameters">Its weight count.</param>
/// <param name="Macs">Its multiply-accumulates per sample.</param>
public sealed record LayerPrecision(string Node, PrecisionCandidate Choice, long Parameters, long Macs);
