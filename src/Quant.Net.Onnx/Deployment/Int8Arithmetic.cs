namespace Quant.Net.Onnx;

/// <summary>Which int8 arithmetic an ONNX Runtime evaluation uses (<see cref="ModelRunner"/>).</summary>
public enum Int8Arithmetic
{
    /// <summary>Whatever this machine's ONNX Runtime does: the result the model gives when deployed here.</summary>
    Host,

    /// <summary>
    /// Exact int32 accumulation, as on x86 VNNI and ARM64 (on hosts whose u8s8 kernels saturate, ONNX Runtime runs with
    /// <c>session.x64quantprecision</c>, its exact u8u8 kernels): the result on a target whose arithmetic is exact.
    /// </summary>
    Exact,

    /// <summary>
    /// ONNX Runtime on x86 AVX2 or AVX-512 without VNNI, simulated on any host: every pair of u8×s8 products is added into a
    /// saturating int16 (<c>vpmaddubsw</c>) before the int32 sum, in the order ONNX Runtime pairs them.
    /// </summary>
    X86Avx2Saturating,
}
