using Quant.Net.Simd;
using System.Buffers;
using System.Runtime.InteropServices;

namespace Quant.Net;

/// <summary>
/// Quantize, dequantize, fake-quantize and requantize over spans, vectorized (AVX-512, AVX2, SSE/AdvSimd) with a
/// scalar reference that every path matches bit for bit.
/// </summary>
/// <remarks>
/// <para>Semantics follow ONNX <c>QuantizeLinear</c>/<c>DequantizeLinear</c>: <c>q = saturate(round_half_to_even(x / scale) + zeroPoint)</c>
/// with a true IEEE division (not a multiplication by the reciprocal), and <c>x = (q - zeroPoint) * scale</c>.</para>
/// <para>Non-finite inputs: +∞ quantizes to the largest code and −∞ to the smallest; NaN quantizes to the smallest code
/// (QMin), exactly as ONNX Runtime's kernels do, so simulated and deployed models agree bit for bit. Fake-quantize maps
/// NaN and −∞ to the bottom of the range and +∞ to the top.</para>
/// <para>Supported storage types: <see cref="sbyte"/>, <see cref="byte"/>, <see cref="short"/>, <see cref="ushort"/>, and
/// int4/uint4 packed two per byte (<see cref="QuantizeInt4(ReadOnlySpan{float}, Span{byte}, QuantParams)"/>).</para>
/// <para>Aliasing: quantize, fake-quantize and requantize may write in place (the destination starting at the source's
/// first byte); dequantize needs disjoint buffers. Any other overlap throws <see cref="ArgumentException"/>.</para>
/// </remarks>
public static class QuantOps
{
    /// <summary>
    /// Width in bits of the vectors the primitives use in this process (512 with AVX-512, 256 with AVX2, 128 with
    /// SSE4/AdvSimd, 0 for the scalar reference), chosen once at start-up and lowered by the runtime's
    /// <c>DOTNET_Enable*</c> switches.
    /// </summary>
    public static int VectorBits => IsaConfig.Best.Elementwise switch
    {
        SimdLevel.Vector512 => 512,
        SimdLevel.Vector256 => 256,
        SimdLevel.Vector128 => 128,
        _ => 0,
    };

    /// <summary>Quantizes to int8 with one scale and zero point over the full [-128, 127] range.</summary>
    /// <param name="source">Real values.</param>
    /// <param name="destination">Quantized values; same length as <paramref name="source"/>.</param>
    /// <param name="scale">Finite scale &gt; 0.</param>
    /// <param name="zeroPoint">Code of 0.0.</param>
    public static void Quantize(ReadOnlySpan<float> source, Span<sbyte> destination, float scale, sbyte zeroPoint) =>
        Quantize(source, destination, QuantParams.ForType<sbyte>(scale, zeroPoint));

    /// <summary>Quantizes to uint8 with one scale and zero point over the full [0, 255] range.</summary>
    /// <param name="source">Real values.</param>
    /// <param name="destination">Quantized values; same length as <paramref name="source"/>.</param>
    /// <param name="scale">Finite scale &gt; 0.</param>
    /// <param name="zeroPoint">Code of 0.0.</param>
    public static void Quantize(ReadOnlySpan<float> source, Span<byte> destination, float scale, byte zeroPoint) =>
        Quantize(source, destination, QuantParams.ForType<byte>(scale, zeroPoint));

    /// <summary>Quantizes to int16 with one scale and zero point over the full range.</summary>
    /// <param name="source">Real values.</param>
    /// <param name="destination">Quantized values; same length as <paramref name="source"/>.</param>
    /// <param name="scale">Finite scale &gt; 0.</param>
    /// <param name="zeroPoint">Code of 0.0.</param>
    public static void Quantize(ReadOnlySpan<float> source, Span<short> destination, float scale, short zeroPoint) =>
        Quantize(source, destination, QuantParams.ForType<short>(scale, zeroPoint));

    /// <summary>Quantizes to uint16 with one scale and zero point over the full range.</summary>
    /// <param name="source">Real values.</param>
    /// <param name="destination">Quantized values; same length as <paramref name="source"/>.</param>
    /// <param name="scale">Finite scale &gt; 0.</param>
    /// <param name="zeroPoint">Code of 0.0.</param>
    public static void Quantize(ReadOnlySpan<float> source, Span<ushort> destination, float scale, ushort zeroPoint) =>
        Quantize(source, destination, QuantParams.ForType<ushort>(scale, zeroPoint));

    /// <summary>Quantizes with one encoding, saturating to its [QMin, QMax] (narrow and sub-byte ranges included).</summary>
    /// <typeparam name="T"><see cref="sbyte"/>, <see cref="byte"/>, <see cref="short"/> or <see cref="ushort"/>; must hold [QMin, QMax].</typeparam>
    /// <param name="source">Real values.</param>
    /// <param name="destination">Quantized values; same length as <paramref name="source"/>.</param>
    /// <param name="parameters">Scale, zero point and integer range.</param>
    public static void Quantize<T>(ReadOnlySpan<float> source, Span<T> destination, QuantParams parameters) where T : unmanaged =>
        Quantize(IsaConfig.Best.Elementwise, source, destination, parameters);

    /// <summary>Quantizes a tensor with per-tensor, per-channel or per-block encodings.</summary>
    /// <typeparam name="T"><see cref="sbyte"/>, <see cref="byte"/>, <see cref="short"/> or <see cref="ushort"/>; must hold the scheme's range.</typeparam>
    /// <param name="source">The tensor, row-major.</param>
    /// <param name="shape">Its shape; the element count must equal the source length.</param>
    /// <param name="encoding">Encodings laid out for <paramref name="shape"/> (see <see cref="QuantEncoding"/>).</param>
    /// <param name="destination">Quantized tensor; same length as <paramref name="source"/>.</param>
    public static void Quantize<T>(ReadOnlySpan<float> source, ReadOnlySpan<int> shape, QuantEncoding encoding, Span<T> destination) where T : unmanaged =>
        Quantize(IsaConfig.Best.Elementwise, source, shape, encoding, destination);

    /// <summary>
    /// Quantizes with stochastic rounding, <c>q = saturate(floor(x / scale + u) + zeroPoint)</c> with u uniform in [0, 1),
    /// so that the expected dequantized value equals x inside the range. Reproducible: u is a hash of
    /// (<paramref name="seed"/>, <paramref name="firstIndex"/> + i), the same on every ISA and chunking (it repeats every 2^32 elements).
    /// </summary>
    /// <typeparam name="T"><see cref="sbyte"/>, <see cref="byte"/>, <see cref="short"/> or <see cref="ushort"/>.</typeparam>
    /// <param name="source">Real values.</param>
    /// <param name="destination">Quantized values; same length as <paramref name="source"/>.</param>
    /// <param name="parameters">Scale, zero point and integer range.</param>
    /// <param name="seed">Random stream.</param>
    /// <param name="firstIndex">Index of <c>source[0]</c> in the stream, so chunks of one tensor can be quantized separately.</param>
    public static void QuantizeStochastic<T>(ReadOnlySpan<float> source, Span<T> destination, QuantParams parameters, ulong seed, long firstIndex = 0)
        where T : unmanaged => QuantizeStochastic(IsaConfig.Best.Elementwise, source, destination, parameters, seed, firstIndex);

    /// <summary>Quantizes to int4 (QMin &lt; 0) or uint4, two values per byte (low nibble first, as ONNX int4).</summary>
    /// <param name="source">Real values.</param>
    /// <param name="packed">Packed destination of <see cref="Int4Packing.PackedLength"/> bytes.</param>
    /// <param name="parameters">An encoding whose range fits in 4 bits ([-8, 7] or [0, 15]).</param>
    public static void QuantizeInt4(ReadOnlySpan<float> source, Span<byte> packed, QuantParams parameters) =>
        QuantizeInt4Core(source, default, null, parameters, packed);

    /// <summary>Quantizes a tensor to packed int4/uint4 with per-tensor, per-channel or per-block encodings (a 4-bit scheme or narrower).</summary>
    /// <param name="source">The tensor, row-major.</param>
    /// <param name="shape">Its shape.</param>
    /// <param name="encoding">Encodings of a scheme whose range fits in 4 bits.</param>
    /// <param name="packed">Packed destination of <see cref="Int4Packing.PackedLength"/> bytes, in row-major element order.</param>
    public static void QuantizeInt4(ReadOnlySpan<float> source, ReadOnlySpan<int> shape, QuantEncoding encoding, Span<byte> packed)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        QuantizeInt4Core(source, shape, encoding, default, packed);
    }

    /// <summary>Dequantizes int8 values: <c>(q - zeroPoint) * scale</c>.</summary>
    /// <param name="source">Quantized values.</param>
    /// <param name="destination">Real values; same length; must not overlap the source.</param>
    /// <param name="scale">Finite scale &gt; 0.</param>
    /// <param name="zeroPoint">Code of 0.0.</param>
    public static void Dequantize(ReadOnlySpan<sbyte> source, Span<float> destination, float scale, sbyte zeroPoint) =>
        Dequantize(source, destination, QuantParams.ForType<sbyte>(scale, zeroPoint));

    /// <summary>Dequantizes uint8 values: <c>(q - zeroPoint) * scale</c>.</summary>
    /// <param name="source">Quantized values.</param>
    /// <param name="destination">Real values; same length; must not overlap the source.</param>
    /// <param name="scale">Finite scale &gt; 0.</param>
    /// <param name="zeroPoint">Code of 0.0.</param>
    public static void Dequantize(ReadOnlySpan<byte> source, Span<float> destination, float scale, byte zeroPoint) =>
        Dequantize(source, destination, QuantParams.ForType<byte>(scale, zeroPoint));

    /// <summary>Dequantizes int16 values: <c>(q - zeroPoint) * scale</c>.</summary>
    /// <param name="source">Quantized values.</param>
    /// <param name="destination">Real values; same length; must not overlap the source.</param>
    /// <param name="scale">Finite scale &gt; 0.</param>
    /// <param name="zeroPoint">Code of 0.0.</param>
    public static void Dequantize(ReadOnlySpan<short> source, Span<float> destination, float scale, short zeroPoint) =>
        Dequantize(source, destination, QuantParams.ForType<short>(scale, zeroPoint));

    /// <summary>Dequantizes uint16 values: <c>(q - zeroPoint) * scale</c>.</summary>
    /// <param name="source">Quantized values.</param>
    /// <param name="destination">Real values; same length; must not overlap the source.</param>
    /// <param name="scale">Finite scale &gt; 0.</param>
    /// <param name="zeroPoint">Code of 0.0.</param>
    public static void Dequantize(ReadOnlySpan<ushort> source, Span<float> destination, float scale, ushort zeroPoint) =>
        Dequantize(source, destination, QuantParams.ForType<ushort>(scale, zeroPoint));

    /// <summary>Dequantizes with one encoding.</summary>
    /// <typeparam name="T"><see cref="sbyte"/>, <see cref="byte"/>, <see cref="short"/> or <see cref="ushort"/>.</typeparam>
    /// <param name="source">Quantized values.</param>
    /// <param name="destination">Real values; same length; must not overlap the source.</param>
    /// <param name="parameters">Scale and zero point.</param>
    public static void Dequantize<T>(ReadOnlySpan<T> source, Span<float> destination, QuantParams parameters) where T : unmanaged =>
        Dequantize(IsaConfig.Best.Elementwise, source, destination, parameters);

    /// <summary>Dequantizes a tensor with per-tensor, per-channel or per-block encodings.</summary>
    /// <typeparam name="T"><see cref="sbyte"/>, <see cref="byte"/>, <see cref="short"/> or <see cref="ushort"/>.</typeparam>
    /// <param name="source">Quantized tensor, row-major.</param>
    /// <param name="shape">Its shape.</param>
    /// <param name="encoding">Encodings laid out for <paramref name="shape"/>.</param>
    /// <param name="destination">Real tensor; same length; must not overlap the source.</param>
    public static void Dequantize<T>(ReadOnlySpan<T> source, ReadOnlySpan<int> shape, QuantEncoding encoding, Span<float> destination) where T : unmanaged =>
        Dequantize(IsaConfig.Best.Elementwise, source, shape, encoding, destination);

    /// <summary>Dequantizes packed int4/uint4 values (signed when the encoding's QMin &lt; 0).</summary>
    /// <param name="packed">Packed values, <see cref="Int4Packing.PackedLength"/> bytes for the destination's length.</param>
    /// <param name="destination">Real values.</param>
    /// <param name="parameters">An encoding whose range fits in 4 bits.</param>
    public static void DequantizeInt4(ReadOnlySpan<byte> packed, Span<float> destination, QuantParams parameters) =>
        DequantizeInt4Core(packed, default, null, parameters, destination);

    /// <summary>Dequantizes a packed int4/uint4 tensor with per-tensor, per-channel or per-block encodings.</summary>
    /// <param name="packed">Packed values in row-major element order.</param>
    /// <param name="shape">The tensor's shape.</param>
    /// <param name="encoding">Encodings of a scheme whose range fits in 4 bits.</param>
    /// <param name="destination">Real tensor.</param>
    public static void DequantizeInt4(ReadOnlySpan<byte> packed, ReadOnlySpan<int> shape, QuantEncoding encoding, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        DequantizeInt4Core(packed, shape, encoding, default, destination);
    }

    /// <summary>Quantize-dequantize in float (simulated quantization): <c>(saturate(round(x / scale) + zp) - zp) * scale</c>.</summary>
    /// <param name="source">Real values.</param>
    /// <param name="destination">Fake-quantized values; same length; may be the source itself.</param>
    /// <param name="parameters">Scale, zero point and integer range.</param>
    public static void FakeQuantize(ReadOnlySpan<float> source, Span<float> destination, QuantParams parameters) =>
        FakeQuantize(IsaConfig.Best.Elementwise, source, destination, parameters);

    /// <summary>Fake-quantizes a tensor with per-tensor, per-channel or per-block encodings.</summary>
    /// <param name="source">The tensor, row-major.</param>
    /// <param name="shape">Its shape.</param>
    /// <param name="encoding">Encodings laid out for <paramref name="shape"/>.</param>
    /// <param name="destination">Fake-quantized tensor; same length; may be the source itself.</param>
    public static void FakeQuantize(ReadOnlySpan<float> source, ReadOnlySpan<int> shape, QuantEncoding encoding, Span<float> destination) =>
        FakeQuantize(IsaConfig.Best.Elementwise, source, shape, encoding, destination);

    /// <summary>
    /// Requantizes int32 accumulators with one float multiplier (<c>inputScale · weightScale / outputScale</c>):
    /// <c>saturate(round_half_to_even((float)acc · multiplier) + zeroPoint)</c>, over <typeparamref name="T"/>'s full range.
    /// </summary>
    /// <typeparam name="T"><see cref="sbyte"/>, <see cref="byte"/>, <see cref="short"/> or <see cref="ushort"/>.</typeparam>
    /// <param name="accumulators">Int32 accumulators.</param>
    /// <param name="destination">Output codes; same length; may start at the accumulators' address.</param>
    /// <param name="multiplier">Finite multiplier &gt; 0.</param>
    /// <param name="zeroPoint">Output zero point, within <typeparamref name="T"/>'s range.</param>
    public static void Requantize<T>(ReadOnlySpan<int> accumulators, Span<T> destination, float multiplier, int zeroPoint) where T : unmanaged =>
        Requantize(IsaConfig.Best.Elementwise, accumulators, destination, [multiplier], zeroPoint);

    /// <summary>
    /// Requantizes a row-major [rows, channels] accumulator matrix with one float multiplier per channel (the last axis,
    /// as in a GEMM output with per-output-channel weight scales).
    /// </summary>
    /// <typeparam name="T"><see cref="sbyte"/>, <see cref="byte"/>, <see cref="short"/> or <see cref="ushort"/>.</typeparam>
    /// <param name="accumulators">Int32 accumulators; the length is a multiple of the channel count.</param>
    /// <param name="destination">Output codes; same length; may start at the accumulators' address.</param>
    /// <param name="multipliers">One finite multiplier &gt; 0 per channel (or a single one for all).</param>
    /// <param name="zeroPoint">Output zero point, within <typeparamref name="T"/>'s range.</param>
    public static void Requantize<T>(ReadOnlySpan<int> accumulators, Span<T> destination, ReadOnlySpan<float> multipliers, int zeroPoint) where T : unmanaged =>
        Requantize(IsaConfig.Best.Elementwise, accumulators, destination, multipliers, zeroPoint);

    /// <summary>
    /// Requantizes with integer-only fixed-point multipliers (one, or one per channel along the last axis):
    /// <c>saturate(multiplier.Apply(acc) + zeroPoint)</c>, bit-exact with gemmlowp/TFLite's reference.
    /// </summary>
    /// <typeparam name="T"><see cref="sbyte"/>, <see cref="byte"/>, <see cref="short"/> or <see cref="ushort"/>.</typeparam>
    /// <param name="accumulators">Int32 accumulators; the length is a multiple of the multiplier count.</param>
    /// <param name="destination">Output codes; same length; may start at the accumulators' address.</param>
    /// <param name="multipliers">One or one per channel.</param>
    /// <param name="zeroPoint">Output zero point, within <typeparamref name="T"/>'s range.</param>
    public static void Requantize<T>(ReadOnlySpan<int> accumulators, Span<T> destination, ReadOnlySpan<FixedPointMultiplier> multipliers, int zeroPoint) where T : unmanaged
    {
        var (qMin, qMax) = RequantizeChecks<T>(accumulators, destination, multipliers.Length, zeroPoint, nameof(multipliers));
        foreach (var m in multipliers)
        {
            if (m.Multiplier < 0 || m.Shift is < -63 or > 30)
                throw new ArgumentOutOfRangeException(nameof(multipliers), m, "Fixed-point multiplier must be non-negative with a shift in [-63, 30].");
        }
        int channels = multipliers.Length;
        for (int i = 0; i < accumulators.Length; i++)
        {
            long q = (long)multipliers[channels == 1 ? 0 : i % channels].Apply(accumulators[i]) + zeroPoint;
            destination[i] = ScalarReference.Narrow<T>((int)Math.Clamp(q, qMin, qMax));
        }
    }

    // ---- Internal entry points that take the ISA level explicitly, so tests run every path against the scalar reference.

    internal static void Quantize<T>(SimdLevel level, ReadOnlySpan<float> source, Span<T> destination, QuantParams parameters) where T : unmanaged
    {
        CheckStorage<T>(parameters.QMin, parameters.QMax, nameof(parameters));
        CheckLengths(source.Length, destination.Length, nameof(destination));
        CheckAlias(MemoryMarshal.AsBytes(source), MemoryMarshal.AsBytes(destination), sameStartAllowed: true, nameof(destination));
        float scale = parameters.Scale, zeroPoint = parameters.ZeroPoint;
        Elementwise.Quantize(level, source, destination, ref scale, ref zeroPoint, false, parameters.QMin, parameters.QMax);
    }

    internal static void Quantize<T>(SimdLevel level, ReadOnlySpan<float> source, ReadOnlySpan<int> shape, QuantEncoding encoding, Span<T> destination) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(encoding);
        CheckStorage<T>(encoding.Scheme.QMin, encoding.Scheme.QMax, nameof(encoding));
        CheckLengths(source.Length, destination.Length, nameof(destination));
        CheckAlias(MemoryMarshal.AsBytes(source), MemoryMarshal.AsBytes(destination), sameStartAllowed: true, nameof(destination));
        var layout = encoding.Layout(shape, source.Length, nameof(shape));
        var run = new QuantizeRun<T>(level, source, destination, encoding);
        layout.ForEachRun(ref run);
    }

    internal static void QuantizeStochastic<T>(SimdLevel level, ReadOnlySpan<float> source, Span<T> destination, QuantParams parameters, ulong seed, long firstIndex)
        where T : unmanaged
    {
        CheckStorage<T>(parameters.QMin, parameters.QMax, nameof(parameters));
        CheckLengths(source.Length, destination.Length, nameof(destination));
        CheckAlias(MemoryMarshal.AsBytes(source), MemoryMarshal.AsBytes(destination), sameStartAllowed: true, nameof(destination));
        float scale = parameters.Scale, zeroPoint = parameters.ZeroPoint;
        Elementwise.QuantizeStochastic(level, source, destination, ref scale, ref zeroPoint, false, parameters.QMin, parameters.QMax,
            ScalarReference.SeedMix(seed), unchecked((uint)firstIndex));
    }

    internal static void Dequantize<T>(SimdLevel level, ReadOnlySpan<T> source, Span<float> destination, QuantParams parameters) where T : unmanaged
    {
        CheckStorage<T>(parameters.QMin, parameters.QMax, nameof(parameters));
        CheckLengths(source.Length, destination.Length, nameof(destination));
        CheckAlias(MemoryMarshal.AsBytes(source), MemoryMarshal.AsBytes(destination), sameStartAllowed: false, nameof(destination));
        float scale = parameters.Scale, zeroPoint = parameters.ZeroPoint;
        Elementwise.Dequantize(level, source, destination, ref scale, ref zeroPoint, false);
    }

    internal static void Dequantize<T>(SimdLevel level, ReadOnlySpan<T> source, ReadOnlySpan<int> shape, QuantEncoding encoding, Span<float> destination) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(encoding);
        CheckStorage<T>(encoding.Scheme.QMin, encoding.Scheme.QMax, nameof(encoding));
        CheckLengths(source.Length, destination.Length, nameof(destination));
        CheckAlias(MemoryMarshal.AsBytes(source), MemoryMarshal.AsBytes(destination), sameStartAllowed: false, nameof(destination));
        var layout = encoding.Layout(shape, source.Length, nameof(shape));
        var run = new DequantizeRun<T>(level, source, destination, encoding);
        layout.ForEachRun(ref run);
    }

    internal static void FakeQuantize(SimdLevel level, ReadOnlySpan<float> source, Span<float> destination, QuantParams parameters)
    {
        CheckLengths(source.Length, destination.Length, nameof(destination));
        CheckAlias(MemoryMarshal.AsBytes(source), MemoryMarshal.AsBytes(destination), sameStartAllowed: true, nameof(destination));
        float scale = parameters.Scale, zeroPoint = parameters.ZeroPoint;
        Elementwise.FakeQuantize(level, source, destination, ref scale, ref zeroPoint, false, parameters.QMin, parameters.QMax);
    }

    internal static void FakeQuantize(SimdLevel level, ReadOnlySpan<float> source, ReadOnlySpan<int> shape, QuantEncoding encoding, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        CheckLengths(source.Length, destination.Length, nameof(destination));
        CheckAlias(MemoryMarshal.AsBytes(source), MemoryMarshal.AsBytes(destination), sameStartAllowed: true, nameof(destination));
        var layout = encoding.Layout(shape, source.Length, nameof(shape));
        var run = new FakeQuantizeRun(level, source, destination, encoding);
        layout.ForEachRun(ref run);
    }

    internal static void Requantize<T>(SimdLevel level, ReadOnlySpan<int> accumulators, Span<T> destination, ReadOnlySpan<float> multipliers, int zeroPoint) where T : unmanaged
    {
        var (qMin, qMax) = RequantizeChecks<T>(accumulators, destination, multipliers.Length, zeroPoint, nameof(multipliers));
        foreach (float m in multipliers) QuantParams.ValidateScale(m, nameof(multipliers));
        int channels = multipliers.Length;
        ref float first = ref MemoryMarshal.GetReference(multipliers);
        if (channels == 1)
        {
            Elementwise.Requantize(level, accumulators, destination, ref first, false, zeroPoint, qMin, qMax);
            return;
        }
        for (int row = 0; row < accumulators.Length; row += channels)
            Elementwise.Requantize(level, accumulators.Slice(row, channels), destination.Slice(row, channels), ref first, true, zeroPoint, qMin, qMax);
    }

    /// <summary>Int4 goes through an sbyte buffer: quantize with the encoding (or the single parameters), then pack.</summary>
    private static void QuantizeInt4Core(ReadOnlySpan<float> source, ReadOnlySpan<int> shape, QuantEncoding? encoding, QuantParams parameters, Span<byte> packed)
    {
        if (encoding is null) CheckInt4Range(parameters.QMin, parameters.QMax, nameof(parameters));
        else CheckInt4Range(encoding.Scheme.QMin, encoding.Scheme.QMax, nameof(encoding));
        CheckPacked(source.Length, packed.Length, nameof(packed));
        CheckAlias(MemoryMarshal.AsBytes(source), MemoryMarshal.AsBytes(packed), sameStartAllowed: true, nameof(packed));
        sbyte[] buffer = ArrayPool<sbyte>.Shared.Rent(source.Length);
        try
        {
            var values = buffer.AsSpan(0, source.Length);
            if (encoding is null) Quantize(IsaConfig.Best.Elementwise, source, values, parameters);
            else Quantize(IsaConfig.Best.Elementwise, source, shape, encoding, values);
            Int4Packing.PackUnchecked(values, packed);
        }
        finally
        {
            ArrayPool<sbyte>.Shared.Return(buffer);
        }
    }

    /// <summary>Unpack into an sbyte buffer (sign-extending int4), then dequantize with the encoding or the single parameters.</summary>
    private static void DequantizeInt4Core(ReadOnlySpan<byte> packed, ReadOnlySpan<int> shape, QuantEncoding? encoding, QuantParams parameters, Span<float> destination)
    {
        if (encoding is null) CheckInt4Range(parameters.QMin, parameters.QMax, nameof(parameters));
        else CheckInt4Range(encoding.Scheme.QMin, encoding.Scheme.QMax, nameof(encoding));
        CheckPacked(destination.Length, packed.Length, nameof(packed));
        sbyte[] buffer = ArrayPool<sbyte>.Shared.Rent(destination.Length);
        try
        {
            var values = buffer.AsSpan(0, destination.Length);
            Int4Packing.Unpack(packed, values, encoding?.Scheme.IsSigned ?? parameters.QMin < 0);
            if (encoding is null) Dequantize(IsaConfig.Best.Elementwise, (ReadOnlySpan<sbyte>)values, destination, parameters);
            else Dequantize(IsaConfig.Best.Elementwise, (ReadOnlySpan<sbyte>)values, shape, encoding, destination);
        }
        finally
        {
            ArrayPool<sbyte>.Shared.Return(buffer);
        }
    }

    private static (int QMin, int QMax) RequantizeChecks<T>(ReadOnlySpan<int> accumulators, Span<T> destination, int channels, int zeroPoint, string multipliersName)
        where T : unmanaged
    {
        var (qMin, qMax) = QuantTypes.RangeOf<T>();
        CheckLengths(accumulators.Length, destination.Length, nameof(destination));
        if (channels == 0) throw new ArgumentException("At least one multiplier is needed.", multipliersName);
        if (accumulators.Length % channels != 0)
            throw new ArgumentException($"{accumulators.Length} accumulators are not a whole number of rows of {channels} channels.", multipliersName);
        if (zeroPoint < qMin || zeroPoint > qMax)
            throw new ArgumentOutOfRangeException(nameof(zeroPoint), zeroPoint, $"Zero point must lie in [{qMin}, {qMax}] for {typeof(T).Name}.");
        CheckAlias(MemoryMarshal.AsBytes(accumulators), MemoryMarshal.AsBytes(destination), sameStartAllowed: true, nameof(destination));
        return (qMin, qMax);
    }

    private static void CheckStorage<T>(int qMin, int qMax, string paramName) where T : unmanaged
    {
        if (!QuantTypes.IsSupported<T>())
            throw new NotSupportedException($"Quantized storage type {typeof(T).Name} is not supported; use sbyte, byte, short or ushort.");
        var (min, max) = QuantTypes.RangeOf<T>();
        if (qMin < min || qMax > max)
            throw new ArgumentException($"Integer range [{qMin}, {qMax}] does not fit in {typeof(T).Name} [{min}, {max}].", paramName);
    }

    private static void CheckInt4Range(int qMin, int qMax, string paramName)
    {
        if (!((qMin >= -8 && qMax <= 7) || (qMin >= 0 && qMax <= 15)))
            throw new ArgumentException($"Integer range [{qMin}, {qMax}] does not fit in int4 [-8, 7] or uint4 [0, 15].", paramName);
    }

    private static void CheckLengths(int sourceLength, int destinationLength, string paramName)
    {
        if (sourceLength != destinationLength)
            throw new ArgumentException($"Destination length {destinationLength} differs from source length {sourceLength}.", paramName);
    }

    private static void CheckPacked(int count, int packedLength, string paramName)
    {
        if (packedLength != Int4Packing.PackedLength(count))
            throw new ArgumentException($"{count} int4 values take {Int4Packing.PackedLength(count)} bytes, got {packedLength}.", paramName);
    }

    private static void CheckAlias(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, bool sameStartAllowed, string paramName)
    {
        if (source.Overlaps(destination, out int offset) && !(sameStartAllowed && offset == 0))
            throw new ArgumentException(sameStartAllowed
                ? "Destination partially overlaps the source; use separate buffers or start both at the same address."
                : "Destination overlaps the source; dequantize needs separate buffers.", paramName);
    }

    private readonly ref struct QuantizeRun<T>(SimdLevel level, ReadOnlySpan<float> source, Span<T> destination, QuantEncoding encoding) : IRunAction
        where T : unmanaged
    {
        private readonly ReadOnlySpan<float> _source = source;
        private readonly Span<T> _destination = destination;

        public void Run(int offset, int length, int parameterIndex, bool varying) =>
            Elementwise.Quantize(level, _source.Slice(offset, length), _destination.Slice(offset, length),
                ref encoding.ScalesArray[parameterIndex], ref encoding.ZeroPointsAsSingle[parameterIndex], varying, encoding.Scheme.QMin, encoding.Scheme.QMax);
    }

    private readonly ref struct DequantizeRun<T>(SimdLevel level, ReadOnlySpan<T> source, Span<float> destination, QuantEncoding encoding) : IRunAction
        where T : unmanaged
    {
        private readonly ReadOnlySpan<T> _source = source;
        private readonly Span<float> _destination = destination;

        public void Run(int offset, int length, int parameterIndex, bool varying) =>
            Elementwise.Dequantize(level, _source.Slice(offset, length), _destination.Slice(offset, length),
                ref encoding.ScalesArray[parameterIndex], ref encoding.ZeroPointsAsSingle[parameterIndex], varying);
    }

    private readonly ref struct FakeQuantizeRun(SimdLevel level, ReadOnlySpan<float> source, Span<float> destination, QuantEncoding encoding) : IRunAction
    {
        private readonly ReadOnlySpan<float> _source = source;
        private readonly Span<float> _destination = destination;

        public void Run(int offset, int length, int parameterIndex, bool varying) =>
            Elementwise.FakeQuantize(level, _source.Slice(offset, length), _destination.Slice(offset, length),
                ref encoding.ScalesArray[parameterIndex], ref encoding.ZeroPointsAsSingle[parameterIndex], varying, encoding.Scheme.QMin, encoding.Scheme.QMax);
    }
}
