using Quant.Net.Simd;
using System.Runtime.CompilerServices;

namespace Quant.Net;

/// <summary>Whether a kernel's scale and zero point are one value for the whole run or one per element.</summary>
internal interface IParamLayout
{
    static abstract bool Varying { get; }
}

/// <summary>One scale and zero point for every element of the run.</summary>
internal readonly struct BroadcastParams : IParamLayout
{
    public static bool Varying => false;
}

/// <summary>A scale and zero point per element (per-channel along the last axis, per-block across inner elements).</summary>
internal readonly struct VaryingParams : IParamLayout
{
    public static bool Varying => true;
}

/// <summary>
/// The elementwise kernels, written once over <see cref="ISimd{TF, TI}"/>: a main loop of 4 vectors per step, then the
/// scalar reference for the tail. Each operation in a step reads its whole input before it writes, and outputs are never
/// wider than inputs where in-place use is allowed, so a destination that starts at the source's address is safe.
/// </summary>
internal static class ElementwiseKernels
{
    // The vector paths clamp x / scale to [qMin - zp, qMax - zp] before rounding and add the zero point after it.
    // Both bounds are integers and rounding is monotonic, so this equals the reference's
    // clamp(round(x / scale) + zp, qMin, qMax) exactly, and it lets x86 round and convert in one instruction.
    // NaN lanes leave the clamp as qMin - zp (see ISimd.Clamp), i.e. the code qMin, as in the reference.

    /// <summary>Scale, zero point and the centred clamp bounds for one vector of elements.</summary>
    private readonly struct VectorParams<TF, TI>(TF scale, TF zeroPoint, TI zeroPointInt, TF low, TF high)
        where TF : struct where TI : struct
    {
        public readonly TF Scale = scale;
        public readonly TF ZeroPoint = zeroPoint;
        public readonly TI ZeroPointInt = zeroPointInt;
        public readonly TF Low = low;
        public readonly TF High = high;
    }

    /// <summary>Loop-invariant parameters for broadcast runs, computed once outside the loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static VectorParams<TF, TI> Invariant<TV, TF, TI>(float scale, float zeroPoint, float qMin, float qMax)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct =>
        new(TV.Splat(scale), TV.Splat(zeroPoint), TV.SplatInt((int)zeroPoint), TV.Splat(qMin - zeroPoint), TV.Splat(qMax - zeroPoint));

    /// <summary>The parameters of elements j..j+Count: the invariant ones, or loaded per element for varying runs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static VectorParams<TF, TI> At<TV, TF, TI, TP>(ref float scale, ref float zeroPoint, nuint j, in VectorParams<TF, TI> invariant, TF qMin, TF qMax)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct where TP : IParamLayout
    {
        if (!TP.Varying) return invariant;
        TF z = TV.Load(ref Unsafe.Add(ref zeroPoint, j));
        return new(TV.Load(ref Unsafe.Add(ref scale, j)), z, TV.ToInt32(z), TV.Subtract(qMin, z), TV.Subtract(qMax, z));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TI QuantizeVector<TV, TF, TI, TP>(ref float source, ref float scale, ref float zeroPoint, nuint j, in VectorParams<TF, TI> invariant, TF qMin, TF qMax)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct where TP : IParamLayout
    {
        var p = At<TV, TF, TI, TP>(ref scale, ref zeroPoint, j, invariant, qMin, qMax);
        TF clamped = TV.Clamp(TV.Divide(TV.Load(ref Unsafe.Add(ref source, j)), p.Scale), p.Low, p.High);
        return TV.AddInt(TV.ConvertToInt32RoundEven(clamped), p.ZeroPointInt);
    }

    /// <summary>
    /// How many leading floats to leave to the scalar reference so that vector loads start on a vector-size boundary:
    /// a 64-byte load that straddles two cache lines costs a second access on every iteration. Only a speed heuristic
    /// (the GC may move managed arrays); results are the same either way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe nuint AlignmentPrologue(ref float source, nuint count, nuint length)
    {
        nuint misaligned = ((nuint)Unsafe.AsPointer(ref source) / sizeof(float)) & (count - 1);
        nuint prologue = misaligned == 0 ? 0 : count - misaligned;
        return length >= 16384 ? prologue : 0; // below ~64 KiB the scalar prologue costs more than the split loads
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TF Param<TV, TF, TI, TP>(ref float values, nuint index, TF broadcast)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct where TP : IParamLayout =>
        TP.Varying ? TV.Load(ref Unsafe.Add(ref values, index)) : broadcast;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ScalarParam<TP>(ref float values, nuint index) where TP : IParamLayout =>
        TP.Varying ? Unsafe.Add(ref values, index) : values;

    public static void Quantize<TV, TF, TI, TP, T>(ref float source, ref T destination, nuint length, ref float scale, ref float zeroPoint, float qMin, float qMax)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct where TP : IParamLayout where T : unmanaged
    {
        nuint count = (nuint)TV.Count, step = 4 * count;
        nuint i = AlignmentPrologue(ref source, count, length);
        QuantizeScalar<TP, T>(ref source, ref destination, 0, i, ref scale, ref zeroPoint, qMin, qMax);
        var invariant = Invariant<TV, TF, TI>(scale, zeroPoint, qMin, qMax);
        TF lo = TV.Splat(qMin), hi = TV.Splat(qMax);
        for (; i + step <= length; i += step)
        {
            TI q0 = QuantizeVector<TV, TF, TI, TP>(ref source, ref scale, ref zeroPoint, i, invariant, lo, hi);
            TI q1 = QuantizeVector<TV, TF, TI, TP>(ref source, ref scale, ref zeroPoint, i + count, invariant, lo, hi);
            TI q2 = QuantizeVector<TV, TF, TI, TP>(ref source, ref scale, ref zeroPoint, i + 2 * count, invariant, lo, hi);
            TI q3 = QuantizeVector<TV, TF, TI, TP>(ref source, ref scale, ref zeroPoint, i + 3 * count, invariant, lo, hi);
            TV.StoreNarrow4(q0, q1, q2, q3, ref Unsafe.Add(ref destination, i));
        }
        QuantizeScalar<TP, T>(ref source, ref destination, i, length, ref scale, ref zeroPoint, qMin, qMax);
    }

    public static void QuantizeScalar<TP, T>(ref float source, ref T destination, nuint start, nuint length, ref float scale, ref float zeroPoint, float qMin, float qMax)
        where TP : IParamLayout where T : unmanaged
    {
        for (nuint i = start; i < length; i++)
        {
            int q = ScalarReference.Quantize(Unsafe.Add(ref source, i), ScalarParam<TP>(ref scale, i), ScalarParam<TP>(ref zeroPoint, i), qMin, qMax);
            Unsafe.Add(ref destination, i) = ScalarReference.Narrow<T>(q);
        }
    }

    public static void QuantizeStochastic<TV, TF, TI, TP, T>(ref float source, ref T destination, nuint length, ref float scale, ref float zeroPoint, float qMin, float qMax, uint seedMix, uint firstIndex)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct where TP : IParamLayout where T : unmanaged
    {
        nuint count = (nuint)TV.Count, step = 4 * count, i = 0;
        TF s = TV.Splat(scale), z = TV.Splat(zeroPoint), lo = TV.Splat(qMin), hi = TV.Splat(qMax);
        TI seed = TV.SplatInt((int)seedMix), lanes = TV.Indices;
        for (; i + step <= length; i += step)
        {
            TI q0 = StochasticVector<TV, TF, TI, TP>(ref source, i, ref scale, ref zeroPoint, s, z, lo, hi, seed, lanes, firstIndex);
            TI q1 = StochasticVector<TV, TF, TI, TP>(ref source, i + count, ref scale, ref zeroPoint, s, z, lo, hi, seed, lanes, firstIndex);
            TI q2 = StochasticVector<TV, TF, TI, TP>(ref source, i + 2 * count, ref scale, ref zeroPoint, s, z, lo, hi, seed, lanes, firstIndex);
            TI q3 = StochasticVector<TV, TF, TI, TP>(ref source, i + 3 * count, ref scale, ref zeroPoint, s, z, lo, hi, seed, lanes, firstIndex);
            TV.StoreNarrow4(q0, q1, q2, q3, ref Unsafe.Add(ref destination, i));
        }
        QuantizeStochasticScalar<TP, T>(ref source, ref destination, i, length, ref scale, ref zeroPoint, qMin, qMax, seedMix, firstIndex);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TI StochasticVector<TV, TF, TI, TP>(ref float source, nuint j, ref float scale, ref float zeroPoint, TF s, TF z, TF lo, TF hi, TI seed, TI lanes, uint firstIndex)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct where TP : IParamLayout
    {
        TI h = TV.Xor(TV.AddInt(TV.SplatInt((int)(firstIndex + (uint)j)), lanes), seed);
        h = TV.Xor(h, TV.ShiftRightLogical(h, 16));
        h = TV.MultiplyLow(h, TV.SplatInt(unchecked((int)0x85EBCA6Bu)));
        h = TV.Xor(h, TV.ShiftRightLogical(h, 13));
        h = TV.MultiplyLow(h, TV.SplatInt(unchecked((int)0xC2B2AE35u)));
        h = TV.Xor(h, TV.ShiftRightLogical(h, 16));
        TF u = TV.Multiply(TV.ToSingle(TV.ShiftRightLogical(h, 8)), TV.Splat(1f / (1 << 24)));
        TF x = TV.Load(ref Unsafe.Add(ref source, j));
        TF q = TV.Floor(TV.Add(TV.Divide(x, Param<TV, TF, TI, TP>(ref scale, j, s)), u));
        return TV.ToInt32(TV.Clamp(TV.Add(q, Param<TV, TF, TI, TP>(ref zeroPoint, j, z)), lo, hi));
    }

    public static void QuantizeStochasticScalar<TP, T>(ref float source, ref T destination, nuint start, nuint length, ref float scale, ref float zeroPoint, float qMin, float qMax, uint seedMix, uint firstIndex)
        where TP : IParamLayout where T : unmanaged
    {
        for (nuint i = start; i < length; i++)
        {
            int q = ScalarReference.QuantizeStochastic(Unsafe.Add(ref source, i), ScalarParam<TP>(ref scale, i), ScalarParam<TP>(ref zeroPoint, i), qMin, qMax, seedMix, firstIndex + (uint)i);
            Unsafe.Add(ref destination, i) = ScalarReference.Narrow<T>(q);
        }
    }

    public static void FakeQuantize<TV, TF, TI, TP>(ref float source, ref float destination, nuint length, ref float scale, ref float zeroPoint, float qMin, float qMax)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct where TP : IParamLayout
    {
        nuint count = (nuint)TV.Count, step = 4 * count, i = 0;
        var invariant = Invariant<TV, TF, TI>(scale, zeroPoint, qMin, qMax);
        TF lo = TV.Splat(qMin), hi = TV.Splat(qMax);
        for (; i + step <= length; i += step)
        {
            TF y0 = FakeVector<TV, TF, TI, TP>(ref source, ref scale, ref zeroPoint, i, invariant, lo, hi);
            TF y1 = FakeVector<TV, TF, TI, TP>(ref source, ref scale, ref zeroPoint, i + count, invariant, lo, hi);
            TF y2 = FakeVector<TV, TF, TI, TP>(ref source, ref scale, ref zeroPoint, i + 2 * count, invariant, lo, hi);
            TF y3 = FakeVector<TV, TF, TI, TP>(ref source, ref scale, ref zeroPoint, i + 3 * count, invariant, lo, hi);
            TV.Store(y0, ref Unsafe.Add(ref destination, i));
            TV.Store(y1, ref Unsafe.Add(ref destination, i + count));
            TV.Store(y2, ref Unsafe.Add(ref destination, i + 2 * count));
            TV.Store(y3, ref Unsafe.Add(ref destination, i + 3 * count));
        }
        FakeQuantizeScalar<TP>(ref source, ref destination, i, length, ref scale, ref zeroPoint, qMin, qMax);
    }

    /// <summary>round(clamp(x / scale, qMin - zp, qMax - zp)) · scale: the reference's (q - zp) · scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TF FakeVector<TV, TF, TI, TP>(ref float source, ref float scale, ref float zeroPoint, nuint j, in VectorParams<TF, TI> invariant, TF qMin, TF qMax)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct where TP : IParamLayout
    {
        var p = At<TV, TF, TI, TP>(ref scale, ref zeroPoint, j, invariant, qMin, qMax);
        TF centered = TV.Round(TV.Clamp(TV.Divide(TV.Load(ref Unsafe.Add(ref source, j)), p.Scale), p.Low, p.High));
        // + 0 turns a rounded -0 into +0, as the reference's (q - zp) does.
        return TV.Multiply(TV.Add(centered, TV.Splat(0f)), p.Scale);
    }

    public static void FakeQuantizeScalar<TP>(ref float source, ref float destination, nuint start, nuint length, ref float scale, ref float zeroPoint, float qMin, float qMax)
        where TP : IParamLayout
    {
        for (nuint i = start; i < length; i++)
            Unsafe.Add(ref destination, i) = ScalarReference.FakeQuantize(Unsafe.Add(ref source, i), ScalarParam<TP>(ref scale, i), ScalarParam<TP>(ref zeroPoint, i), qMin, qMax);
    }

    public static void Dequantize<TV, TF, TI, TP, T>(ref T source, ref float destination, nuint length, ref float scale, ref float zeroPoint)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct where TP : IParamLayout where T : unmanaged
    {
        nuint count = (nuint)TV.Count, step = 4 * count, i = 0;
        TF s = TV.Splat(scale), z = TV.Splat(zeroPoint);
        for (; i + step <= length; i += step)
        {
            TV.LoadWiden4(ref Unsafe.Add(ref source, i), out TI q0, out TI q1, out TI q2, out TI q3);
            DequantizeStore<TV, TF, TI, TP>(q0, ref destination, i, ref scale, ref zeroPoint, s, z);
            DequantizeStore<TV, TF, TI, TP>(q1, ref destination, i + count, ref scale, ref zeroPoint, s, z);
            DequantizeStore<TV, TF, TI, TP>(q2, ref destination, i + 2 * count, ref scale, ref zeroPoint, s, z);
            DequantizeStore<TV, TF, TI, TP>(q3, ref destination, i + 3 * count, ref scale, ref zeroPoint, s, z);
        }
        DequantizeScalar<TP, T>(ref source, ref destination, i, length, ref scale, ref zeroPoint);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DequantizeStore<TV, TF, TI, TP>(TI q, ref float destination, nuint j, ref float scale, ref float zeroPoint, TF s, TF z)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct where TP : IParamLayout
    {
        TF y = TV.Multiply(TV.Subtract(TV.ToSingle(q), Param<TV, TF, TI, TP>(ref zeroPoint, j, z)), Param<TV, TF, TI, TP>(ref scale, j, s));
        TV.Store(y, ref Unsafe.Add(ref destination, j));
    }

    public static void DequantizeScalar<TP, T>(ref T source, ref float destination, nuint start, nuint length, ref float scale, ref float zeroPoint)
        where TP : IParamLayout where T : unmanaged
    {
        for (nuint i = start; i < length; i++)
            Unsafe.Add(ref destination, i) = ScalarReference.Dequantize(ScalarReference.Widen(Unsafe.Add(ref source, i)), ScalarParam<TP>(ref scale, i), ScalarParam<TP>(ref zeroPoint, i));
    }

    public static void Requantize<TV, TF, TI, TP, T>(ref int source, ref T destination, nuint length, ref float multiplier, float zeroPoint, float qMin, float qMax)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct where TP : IParamLayout where T : unmanaged
    {
        nuint count = (nuint)TV.Count, step = 4 * count, i = 0;
        TF m = TV.Splat(multiplier), z = TV.Splat(zeroPoint), lo = TV.Splat(qMin), hi = TV.Splat(qMax);
        for (; i + step <= length; i += step)
        {
            TI q0 = RequantizeVector<TV, TF, TI, TP>(ref source, i, ref multiplier, m, z, lo, hi);
            TI q1 = RequantizeVector<TV, TF, TI, TP>(ref source, i + count, ref multiplier, m, z, lo, hi);
            TI q2 = RequantizeVector<TV, TF, TI, TP>(ref source, i + 2 * count, ref multiplier, m, z, lo, hi);
            TI q3 = RequantizeVector<TV, TF, TI, TP>(ref source, i + 3 * count, ref multiplier, m, z, lo, hi);
            TV.StoreNarrow4(q0, q1, q2, q3, ref Unsafe.Add(ref destination, i));
        }
        RequantizeScalar<TP, T>(ref source, ref destination, i, length, ref multiplier, zeroPoint, qMin, qMax);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TI RequantizeVector<TV, TF, TI, TP>(ref int source, nuint j, ref float multiplier, TF m, TF z, TF lo, TF hi)
        where TV : ISimd<TF, TI> where TF : struct where TI : struct where TP : IParamLayout
    {
        TF acc = TV.ToSingle(TV.LoadInt(ref Unsafe.Add(ref source, j)));
        TF q = TV.Add(TV.Round(TV.Multiply(acc, Param<TV, TF, TI, TP>(ref multiplier, j, m))), z);
        return TV.ToInt32(TV.Clamp(q, lo, hi));
    }

    public static void RequantizeScalar<TP, T>(ref int source, ref T destination, nuint start, nuint length, ref float multiplier, float zeroPoint, float qMin, float qMax)
        where TP : IParamLayout where T : unmanaged
    {
        for (nuint i = start; i < length; i++)
            Unsafe.Add(ref destination, i) = ScalarReference.Narrow<T>(ScalarReference.Requantize(Unsafe.Add(ref source, i), ScalarParam<TP>(ref multiplier, i), zeroPoint, qMin, qMax));
    }
}
