using Quant.Net.Simd;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quant.Net;

/// <summary>Picks the kernel for a <see cref="SimdLevel"/>; callers have validated lengths and parameters.</summary>
internal static class Elementwise
{
    public static void Quantize<T>(SimdLevel level, ReadOnlySpan<float> source, Span<T> destination, ref float scale, ref float zeroPoint, bool varying, float qMin, float qMax)
        where T : unmanaged
    {
        if (varying) Quantize<VaryingParams, T>(level, source, destination, ref scale, ref zeroPoint, qMin, qMax);
        else Quantize<BroadcastParams, T>(level, source, destination, ref scale, ref zeroPoint, qMin, qMax);
    }

    private static void Quantize<TP, T>(SimdLevel level, ReadOnlySpan<float> source, Span<T> destination, ref float scale, ref float zeroPoint, float qMin, float qMax)
        where TP : IParamLayout where T : unmanaged
    {
        ref float src = ref MemoryMarshal.GetReference(source);
        ref T dst = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)source.Length;
        switch (level)
        {
            case SimdLevel.Vector512: ElementwiseKernels.Quantize<Simd512, Vector512<float>, Vector512<int>, TP, T>(ref src, ref dst, n, ref scale, ref zeroPoint, qMin, qMax); break;
            case SimdLevel.Vector256: ElementwiseKernels.Quantize<Simd256, Vector256<float>, Vector256<int>, TP, T>(ref src, ref dst, n, ref scale, ref zeroPoint, qMin, qMax); break;
            case SimdLevel.Vector128: ElementwiseKernels.Quantize<Simd128, Vector128<float>, Vector128<int>, TP, T>(ref src, ref dst, n, ref scale, ref zeroPoint, qMin, qMax); break;
            default: ElementwiseKernels.QuantizeScalar<TP, T>(ref src, ref dst, 0, n, ref scale, ref zeroPoint, qMin, qMax); break;
        }
    }

    public static void QuantizeStochastic<T>(SimdLevel level, ReadOnlySpan<float> source, Span<T> destination, ref float scale, ref float zeroPoint, bool varying, float qMin, float qMax, uint seedMix, uint firstIndex)
        where T : unmanaged
    {
        if (varying) QuantizeStochastic<VaryingParams, T>(level, source, destination, ref scale, ref zeroPoint, qMin, qMax, seedMix, firstIndex);
        else QuantizeStochastic<BroadcastParams, T>(level, source, destination, ref scale, ref zeroPoint, qMin, qMax, seedMix, firstIndex);
    }

    private static void QuantizeStochastic<TP, T>(SimdLevel level, ReadOnlySpan<float> source, Span<T> destination, ref float scale, ref float zeroPoint, float qMin, float qMax, uint seedMix, uint firstIndex)
        where TP : IParamLayout where T : unmanaged
    {
        ref float src = ref MemoryMarshal.GetReference(source);
        ref T dst = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)source.Length;
        switch (level)
        {
            case SimdLevel.Vector512: ElementwiseKernels.QuantizeStochastic<Simd512, Vector512<float>, Vector512<int>, TP, T>(ref src, ref dst, n, ref scale, ref zeroPoint, qMin, qMax, seedMix, firstIndex); break;
            case SimdLevel.Vector256: ElementwiseKernels.QuantizeStochastic<Simd256, Vector256<float>, Vector256<int>, TP, T>(ref src, ref dst, n, ref scale, ref zeroPoint, qMin, qMax, seedMix, firstIndex); break;
            case SimdLevel.Vector128: ElementwiseKernels.QuantizeStochastic<Simd128, Vector128<float>, Vector128<int>, TP, T>(ref src, ref dst, n, ref scale, ref zeroPoint, qMin, qMax, seedMix, firstIndex); break;
            default: ElementwiseKernels.QuantizeStochasticScalar<TP, T>(ref src, ref dst, 0, n, ref scale, ref zeroPoint, qMin, qMax, seedMix, firstIndex); break;
        }
    }

    public static void FakeQuantize(SimdLevel level, ReadOnlySpan<float> source, Span<float> destination, ref float scale, ref float zeroPoint, bool varying, float qMin, float qMax)
    {
        if (varying) FakeQuantize<VaryingParams>(level, source, destination, ref scale, ref zeroPoint, qMin, qMax);
        else FakeQuantize<BroadcastParams>(level, source, destination, ref scale, ref zeroPoint, qMin, qMax);
    }

    private static void FakeQuantize<TP>(SimdLevel level, ReadOnlySpan<float> source, Span<float> destination, ref float scale, ref float zeroPoint, float qMin, float qMax)
        where TP : IParamLayout
    {
        ref float src = ref MemoryMarshal.GetReference(source);
        ref float dst = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)source.Length;
        switch (level)
        {
            case SimdLevel.Vector512: ElementwiseKernels.FakeQuantize<Simd512, Vector512<float>, Vector512<int>, TP>(ref src, ref dst, n, ref scale, ref zeroPoint, qMin, qMax); break;
            case SimdLevel.Vector256: ElementwiseKernels.FakeQuantize<Simd256, Vector256<float>, Vector256<int>, TP>(ref src, ref dst, n, ref scale, ref zeroPoint, qMin, qMax); break;
            case SimdLevel.Vector128: ElementwiseKernels.FakeQuantize<Simd128, Vector128<float>, Vector128<int>, TP>(ref src, ref dst, n, ref scale, ref zeroPoint, qMin, qMax); break;
            default: ElementwiseKernels.FakeQuantizeScalar<TP>(ref src, ref dst, 0, n, ref scale, ref zeroPoint, qMin, qMax); break;
        }
    }

    public static void Dequantize<T>(SimdLevel level, ReadOnlySpan<T> source, Span<float> destination, ref float scale, ref float zeroPoint, bool varying)
        where T : unmanaged
    {
        if (varying) Dequantize<VaryingParams, T>(level, source, destination, ref scale, ref zeroPoint);
        else Dequantize<BroadcastParams, T>(level, source, destination, ref scale, ref zeroPoint);
    }

    private static void Dequantize<TP, T>(SimdLevel level, ReadOnlySpan<T> source, Span<float> destination, ref float scale, ref float zeroPoint)
        where TP : IParamLayout where T : unmanaged
    {
        ref T src = ref MemoryMarshal.GetReference(source);
        ref float dst = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)source.Length;
        switch (level)
        {
            case SimdLevel.Vector512: ElementwiseKernels.Dequantize<Simd512, Vector512<float>, Vector512<int>, TP, T>(ref src, ref dst, n, ref scale, ref zeroPoint); break;
            case SimdLevel.Vector256: ElementwiseKernels.Dequantize<Simd256, Vector256<float>, Vector256<int>, TP, T>(ref src, ref dst, n, ref scale, ref zeroPoint); break;
            case SimdLevel.Vector128: ElementwiseKernels.Dequantize<Simd128, Vector128<float>, Vector128<int>, TP, T>(ref src, ref dst, n, ref scale, ref zeroPoint); break;
            default: ElementwiseKernels.DequantizeScalar<TP, T>(ref src, ref dst, 0, n, ref scale, ref zeroPoint); break;
        }
    }

    public static void Requantize<T>(SimdLevel level, ReadOnlySpan<int> source, Span<T> destination, ref float multiplier, bool varying, float zeroPoint, float qMin, float qMax)
        where T : unmanaged
    {
        if (varying) Requantize<VaryingParams, T>(level, source, destination, ref multiplier, zeroPoint, qMin, qMax);
        else Requantize<BroadcastParams, T>(level, source, destination, ref multiplier, zeroPoint, qMin, qMax);
    }

    private static void Requantize<TP, T>(SimdLevel level, ReadOnlySpan<int> source, Span<T> destination, ref float multiplier, float zeroPoint, float qMin, float qMax)
        where TP : IParamLayout where T : unmanaged
    {
        ref int src = ref MemoryMarshal.GetReference(source);
        ref T dst = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)source.Length;
        switch (level)
        {
            case SimdLevel.Vector512: ElementwiseKernels.Requantize<Simd512, Vector512<float>, Vector512<int>, TP, T>(ref src, ref dst, n, ref multiplier, zeroPoint, qMin, qMax); break;
            case SimdLevel.Vector256: ElementwiseKernels.Requantize<Simd256, Vector256<float>, Vector256<int>, TP, T>(ref src, ref dst, n, ref multiplier, zeroPoint, qMin, qMax); break;
            case SimdLevel.Vector128: ElementwiseKernels.Requantize<Simd128, Vector128<float>, Vector128<int>, TP, T>(ref src, ref dst, n, ref multiplier, zeroPoint, qMin, qMax); break;
            default: ElementwiseKernels.RequantizeScalar<TP, T>(ref src, ref dst, 0, n, ref multiplier, zeroPoint, qMin, qMax); break;
        }
    }
}
