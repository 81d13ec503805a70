using Quant.Net.Simd;
namespace Quant.Net;

/// <summary>
/// The encodings of one tensor under a <see cref="QuantScheme"/>: one scale and zero point per tensor, per channel
/// (along the scheme's axis) or per block (laid out as ONNX's blocked scale tensor: the input's shape with the axis
/// dimension replaced by the block count, row-major), with the real ranges they were computed from. Immutable.
/// </summary>
public sealed class QuantEncoding
{
    private readonly float[] _scales;
    private readonly int[] _zeroPoints;
    private readonly float[] _min;
    private readonly float[] _max;

    /// <summary>Creates an encoding from explicit scales and zero points, validating each.</summary>
    /// <param name="scheme">The scheme (its integer range bounds the zero points; its granularity says how the arrays are laid out).</param>
    /// <param name="scales">One scale per encoding; each finite and &gt; 0.</param>
    /// <param name="zeroPoints">One zero point per encoding, within the scheme's [QMin, QMax].</param>
    /// <exception cref="ArgumentException">The arrays are empty or of different lengths, a scale or zero point is invalid, or a per-tensor scheme has more than one.</exception>
    public QuantEncoding(QuantScheme scheme, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints)
        : this(scheme, scales.ToArray(), zeroPoints.ToArray(), null, null)
    {
    }

    private QuantEncoding(QuantScheme scheme, float[] scales, int[] zeroPoints, float[]? min, float[]? max)
    {
        if (scales.Length == 0) throw new ArgumentException("An encoding needs at least one scale.", nameof(scales));
        if (zeroPoints.Length != scales.Length)
            throw new ArgumentException($"Got {zeroPoints.Length} zero points for {scales.Length} scales.", nameof(zeroPoints));
        if (scheme.Granularity.Kind == QuantGranularityKind.PerTensor && scales.Length != 1)
            throw new ArgumentException($"A per-tensor scheme takes one scale, not {scales.Length}.", nameof(scales));
        for (int i = 0; i < scales.Length; i++)
        {
            QuantParams.ValidateScale(scales[i], nameof(scales));
            if (zeroPoints[i] < scheme.QMin || zeroPoints[i] > scheme.QMax)
                throw new ArgumentOutOfRangeException(nameof(zeroPoints), zeroPoints[i], $"Zero point {i} must lie in [{scheme.QMin}, {scheme.QMax}].");
        }
        Scheme = scheme;
        _scales = scales;
        _zeroPoints = zeroPoints;
        ZeroPointsAsSingle = Array.ConvertAll(zeroPoints, z => (float)z);
        _min = min ?? new float[scales.Length];
        _max = max ?? new float[scales.Length];
        if (min is null)
        {
            for (int i = 0; i < scales.Length; i++)
            {
                _min[i] = (scheme.QMin - zeroPoints[i]) * scales[i];
                _max[i] = (scheme.QMax - zeroPoints[i]) * scales[i];
            }
        }
    }

    /// <summary>The scheme these encodings follow.</summary>
    public QuantScheme Scheme { get; }

    /// <summary>Number of encodings (1 per tensor, channels, or blocks).</summary>
    public int Count => _scales.Length;

    /// <summary>The scales.</summary>
    public ReadOnlySpan<float> Scales => _scales;

    /// <summary>The zero points.</summary>
    public ReadOnlySpan<int> ZeroPoints => _zeroPoints;

    /// <summary>The smallest real value each encoding was computed from (widened to include 0).</summary>
    public ReadOnlySpan<float> Min => _min;

    /// <summary>The largest real value each encoding was computed from (widened to include 0).</summary>
    public ReadOnlySpan<float> Max => _max;

    internal float[] ScalesArray => _scales;

    internal float[] ZeroPointsAsSingle { get; }

    /// <summary>The <paramref name="index"/>-th encoding.</summary>
    /// <param name="index">0 ≤ index &lt; <see cref="Count"/>.</param>
    public QuantParams this[int index] => new(_scales[index], _zeroPoints[index], Scheme.QMin, Scheme.QMax);

    /// <summary>A per-tensor encoding for the range [<paramref name="min"/>, <paramref name="max"/>].</summary>
    /// <param name="scheme">A per-tensor scheme.</param>
    /// <param name="min">Smallest value; finite.</param>
    /// <param name="max">Largest value; finite.</param>
    public static QuantEncoding FromRange(QuantScheme scheme, float min, float max) => FromRanges(scheme, [min], [max]);

    /// <summary>Encodings for one range per channel or block (see <see cref="QuantParams.FromRange"/> for the formulas).</summary>
    /// <param name="scheme">The scheme.</param>
    /// <param name="min">Smallest value of each group; finite.</param>
    /// <param name="max">Largest value of each group; finite; same length as <paramref name="min"/>.</param>
    /// <exception cref="ArgumentException">Lengths differ or are 0, or a bound is invalid.</exception>
    public static QuantEncoding FromRanges(QuantScheme scheme, ReadOnlySpan<float> min, ReadOnlySpan<float> max)
    {
        if (min.Length != max.Length) throw new ArgumentException($"Got {min.Length} minima and {max.Length} maxima.", nameof(max));
        var scales = new float[min.Length];
        var zeroPoints = new int[min.Length];
        var lo = new float[min.Length];
        var hi = new float[min.Length];
        for (int i = 0; i < min.Length; i++)
        {
            var p = QuantParams.FromRange(scheme, min[i], max[i]);
            (scales[i], zeroPoints[i]) = (p.Scale, p.ZeroPoint);
            (lo[i], hi[i]) = (Math.Min(min[i], 0f), Math.Max(max[i], 0f));
        }
        return new QuantEncoding(scheme, scales, zeroPoints, lo, hi);
    }

    /// <summary>
    /// Min/max encodings of a tensor: the range of each group (whole tensor, channel or block) taken over its finite
    /// values (NaN and ±∞ are ignored; a group with no finite value gets the range [0, 0]).
    /// </summary>
    /// <param name="scheme">The scheme, with the granularity to compute.</param>
    /// <param name="data">The tensor, row-major.</param>
    /// <param name="shape">The tensor's shape; its element count must equal <paramref name="data"/>'s length.</param>
    /// <exception cref="ArgumentException">The shape does not match the data or the scheme's axis.</exception>
    public static QuantEncoding FromTensor(QuantScheme scheme, ReadOnlySpan<float> data, ReadOnlySpan<int> shape)
    {
        var layout = TensorLayout.Create(shape, data.Length, scheme.Granularity, nameof(shape));
        var min = new float[layout.ParameterCount];
        var max = new float[layout.ParameterCount];
        var action = new MinMaxRun(data, min, max);
        layout.ForEachRun(ref action);
        return FromRanges(scheme, min, max);
    }

    /// <summary>The shape of the scale (and zero point) tensor ONNX expects for a tensor of <paramref name="tensorShape"/>.</summary>
    /// <param name="tensorShape">The quantized tensor's shape.</param>
    public int[] GetParameterShape(ReadOnlySpan<int> tensorShape)
    {
        var g = Scheme.Granularity;
        if (g.Kind == QuantGranularityKind.PerTensor) return [];
        int axis = g.Axis < 0 ? g.Axis + tensorShape.Length : g.Axis;
        if (axis < 0 || axis >= tensorShape.Length)
            throw new ArgumentException($"Axis {g.Axis} is outside a tensor of rank {tensorShape.Length}.", nameof(tensorShape));
        if (g.Kind == QuantGranularityKind.PerChannel) return [tensorShape[axis]];
        int[] shape = tensorShape.ToArray();
        shape[axis] = (shape[axis] + g.BlockSize - 1) / g.BlockSize;
        return shape;
    }

    /// <summary>Checks that this encoding fits a tensor of <paramref name="shape"/> holding <paramref name="length"/> elements.</summary>
    internal TensorLayout Layout(ReadOnlySpan<int> shape, int length, string shapeParamName)
    {
        var layout = TensorLayout.Create(shape, length, Scheme.Granularity, shapeParamName);
        if (layout.ParameterCount != Count)
            throw new ArgumentException($"The encoding has {Count} scales but {Scheme.Granularity} of shape [{string.Join(", ", shape.ToArray())}] needs {layout.ParameterCount}.", shapeParamName);
        return layout;
    }

    private readonly ref struct MinMaxRun(ReadOnlySpan<float> data, float[] min, float[] max) : IRunAction
    {
        private readonly ReadOnlySpan<float> _data = data;

        public void Run(int offset, int length, int parameterIndex, bool varying)
        {
            var run = _data.Slice(offset, length);
            if (!varying)
            {
                var range = RangeKernels.Compute(IsaConfig.Best.Elementwise, run); // finite values only; empty gives (+∞, −∞)
                min[parameterIndex] = Math.Min(min[parameterIndex], range.Min);
                max[parameterIndex] = Math.Max(max[parameterIndex], range.Max);
                return;
            }
            for (int i = 0; i < run.Length; i++)
            {
                float v = run[i];
                if (!float.IsFinite(v)) continue;
                ref float lo = ref min[parameterIndex + i], hi = ref max[parameterIndex + i];
                if (v < lo) lo = v;
                if (v > hi) hi = v;
            }
        }
    }
}
