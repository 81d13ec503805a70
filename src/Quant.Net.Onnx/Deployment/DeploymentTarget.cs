using Quant.Net.Techniques;
using System.Text.Json.Serialization;

namespace Quant.Net.Onnx;

/// <summary>
/// The integer arithmetic a quantized model will run on. Runtimes differ: ONNX Runtime on x86 with VNNI (AVX-512 VNNI or
/// AVX-VNNI) and on ARM64 accumulates u8×s8 products exactly in int32, while on x86 with AVX2 (or AVX-512) but no VNNI
/// its u8s8 kernels add two products into a saturating int16 first (<c>vpmaddubsw</c>), which full-range int8 weights
/// overflow. The quantizer chooses encodings that are exact on the target.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<DeploymentTarget>))]
public enum DeploymentTarget
{
    /// <summary>
    /// Exact on every ONNX Runtime CPU path (the default: a model quantized on one machine usually runs on others). Int8
    /// weights of Conv/MatMul/Gemm fed by 8-bit activations get pair-safe scales (<see cref="PairwiseInt16Safety"/>), so no
    /// pair of products can saturate on x86 AVX2; nothing else changes, and every kernel keeps its speed.
    /// </summary>
    [JsonStringEnumMemberName("portable")]
    Portable,

    /// <summary>x86 with AVX2 (or AVX-512) but no VNNI: the same pair-safe weight scales as <see cref="Portable"/>.</summary>
    [JsonStringEnumMemberName("x86-avx2")]
    X86Avx2,

    /// <summary>x86 with AVX-512 VNNI or AVX-VNNI: exact int32 accumulation, full-range int8 weights ([−127, 127]).</summary>
    [JsonStringEnumMemberName("x86-vnni")]
    X86Vnni,

    /// <summary>ARM64 (dot-product extension or widening kernels): exact int32 accumulation, full-range int8 weights.</summary>
    [JsonStringEnumMemberName("arm64")]
    Arm64,

    /// <summary>
    /// Qualcomm's Hexagon NPU through QNN's HTP backend, reached by the FP32 model + AIMET encodings route
    /// (<see cref="AimetExport"/>): exact int32 accumulation, and a preset (<see cref="QuantizationConfig.ForTarget"/>)
    /// equal to AIMET's HTP quantsim config: non-strict symmetric per-channel weights (per-tensor for MatMul and Gemm),
    /// every op's output quantized, float biases (QNN quantizes them), fixed [0, 1] ranges for Softmax and Sigmoid.
    /// </summary>
    [JsonStringEnumMemberName("qnn-htp")]
    QnnHtp,
}
