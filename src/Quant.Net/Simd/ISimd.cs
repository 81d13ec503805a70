namespace Quant.Net.Simd;

/// <summary>
/// The vector operations the elementwise kernels need, implemented once per width (<see cref="Simd128"/>,
/// <see cref="Simd256"/>, <see cref="Simd512"/>) so each kernel is written once and specialized by the JIT.
/// Every operation is exact or IEEE correctly rounded, so all widths give the same bits as the scalar reference.
/// </summary>
/// <typeparam name="TF">The float vector type.</typeparam>
/// <typeparam name="TI">The int32 vector type with the same lane count.</typeparam>
internal interface ISimd<TF, TI>
    where TF : struct
    where TI : struct
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }

    static abstract TF Load(ref float source);
    static abstract void Store(TF value, ref float destination);
    static abstract TI LoadInt(ref int source);
    static abstract TF Splat(float value);
    static abstract TF Add(TF left, TF right);
    static abstract TF Subtract(TF left, TF right);
    static abstract TF Multiply(TF left, TF right);
    static abstract TF Divide(TF left, TF right);

    /// <summary>a · b + c with one rounding (FMA; emulated exactly where the hardware has none).</summary>
    static abstract TF MultiplyAdd(TF a, TF b, TF c);

    /// <summary>Lane-wise minimum and maximum with the platform's NaN behaviour (callers detect non-finite input separately).</summary>
    static abstract TF MinNative(TF left, TF right);
    static abstract TF MaxNative(TF left, TF right);

    /// <summary>The smallest, largest and summed lane (horizontal reductions).</summary>
    static abstract float MinAcross(TF value);
    static abstract float MaxAcross(TF value);
    static abstract float SumAcross(TF value);

    /// <summary>Round to nearest integer, ties to even.</summary>
    /// <summary>|value| per lane.</summary>
    static abstract TF Abs(TF value);

    /// <summary>All bits set in the lanes where <paramref name="left"/> equals <paramref name="right"/> (NaN: never), else 0.</summary>
    static abstract TF EqualMask(TF left, TF right);

    /// <summary>Bitwise AND of two float vectors (with a mask: the value where the mask is set, +0 elsewhere).</summary>
    static abstract TF AndBits(TF left, TF right);

    /// <summary>Whether any lane of <paramref name="left"/> is greater than the same lane of <paramref name="right"/> (NaN: no).</summary>
    static abstract bool AnyGreaterThan(TF left, TF right);

    /// <summary>Whether every lane of <paramref name="left"/> equals the same lane of <paramref name="right"/> (a NaN lane: no).</summary>
    static abstract bool AllEqual(TF left, TF right);

    static abstract TF Round(TF value);
    static abstract TF Floor(TF value);

    /// <summary>Clamp between bounds (which are never NaN); NaN lanes become <paramref name="min"/>, as x86 <c>maxps</c> gives.</summary>
    static abstract TF Clamp(TF value, TF min, TF max);

    /// <summary>
    /// <c>v = min &gt; v ? min : v; v = max &lt; v ? max : v</c> by compare and select: NaN passes through and −0 stays −0
    /// on every platform (x86 <c>maxps</c> and ARM <c>fmax</c> disagree on signed zeros).
    /// </summary>
    static abstract TF ClampOrdered(TF value, TF min, TF max);

    /// <summary>Float to int32 rounding to nearest, ties to even, for values inside the int32 range (one instruction where the ISA has it).</summary>
    static abstract TI ConvertToInt32RoundEven(TF value);

    /// <summary>Float to int32 for integral values inside the int32 range.</summary>
    static abstract TI ToInt32(TF value);

    /// <summary>Int32 to float, rounded to nearest even as a scalar cast is.</summary>
    static abstract TF ToSingle(TI value);

    static abstract TI SplatInt(int value);

    /// <summary>0, 1, ..., Count - 1.</summary>
    static abstract TI Indices { get; }
    static abstract TI AddInt(TI left, TI right);
    static abstract TI MultiplyLow(TI left, TI right);
    static abstract TI Xor(TI left, TI right);
    static abstract TI And(TI left, TI right);
    static abstract TI ShiftRightLogical(TI value, int count);

    /// <summary>Loads 4 × Count elements of <typeparamref name="T"/> (sbyte, byte, short, ushort) widened to int32.</summary>
    static abstract void LoadWiden4<T>(ref T source, out TI v0, out TI v1, out TI v2, out TI v3) where T : unmanaged;

    /// <summary>Stores 4 × Count int32 lanes, already inside <typeparamref name="T"/>'s range, narrowed to <typeparamref name="T"/>.</summary>
    static abstract void StoreNarrow4<T>(TI v0, TI v1, TI v2, TI v3, ref T destination) where T : unmanaged;
}
