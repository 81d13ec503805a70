using System.Collections;

namespace Quant.Net.Training;

/// <summary>
/// The learned parameters of a <see cref="FakeQuantizer"/> (or their accumulated gradients), one value per scale of its
/// encoding, named by what they mean: <see cref="Scale"/> and <see cref="ZeroPoint"/> when the quantizer learns with
/// <see cref="RangeLearning.Lsq"/> (or learns nothing), <see cref="Min"/> and <see cref="Max"/> with
/// <see cref="RangeLearning.MinMax"/>. As a list it holds the two arrays in that order, so an optimizer can step every
/// parameter array against its gradient array without knowing which is which. The arrays are the quantizer's own:
/// writing into them updates it.
/// </summary>
public sealed class QuantizerParameters : IReadOnlyList<float[]>
{
    private readonly float[] _first, _second;

    internal QuantizerParameters(RangeLearning learning, float[] first, float[] second)
    {
        Learning = learning;
        _first = first;
        _second = second;
    }

    /// <summary>What the quantizer learns, which decides the meaning of the two arrays.</summary>
    public RangeLearning Learning { get; }

    /// <summary>The scales (LSQ, or a quantizer that learns nothing).</summary>
    /// <exception cref="InvalidOperationException">The quantizer learns min and max.</exception>
    public float[] Scale => Learning != RangeLearning.MinMax ? _first : throw Wrong(nameof(Scale));

    /// <summary>The zero points as floats (LSQ, or a quantizer that learns nothing); symmetric schemes keep them fixed.</summary>
    /// <exception cref="InvalidOperationException">The quantizer learns min and max.</exception>
    public float[] ZeroPoint => Learning != RangeLearning.MinMax ? _second : throw Wrong(nameof(ZeroPoint));

    /// <summary>The range minimums (<see cref="RangeLearning.MinMax"/>).</summary>
    /// <exception cref="InvalidOperationException">The quantizer learns scale and zero point.</exception>
    public float[] Min => Learning == RangeLearning.MinMax ? _first : throw Wrong(nameof(Min));

    /// <summary>The range maximums (<see cref="RangeLearning.MinMax"/>).</summary>
    /// <exception cref="InvalidOperationException">The quantizer learns scale and zero point.</exception>
    public float[] Max => Learning == RangeLearning.MinMax ? _second : throw Wrong(nameof(Max));

    /// <summary>2: the two arrays.</summary>
    public int Count => 2;

    /// <summary>Values per array: one per scale of the encoding (0 before learning starts).</summary>
    public int Length => _first.Length;

    /// <summary>Array 0 (<see cref="Scale"/> or <see cref="Min"/>) or 1 (<see cref="ZeroPoint"/> or <see cref="Max"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not 0 or 1.</exception>
    public float[] this[int index] => index switch
    {
        0 => _first,
        1 => _second,
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "A quantizer has two parameter arrays (0 and 1)."),
    };

    /// <inheritdoc/>
    public IEnumerator<float[]> GetEnumerator()
    {
        yield return _first;
        yield return _second;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>For example "scale [0.0123, 0.0456], zero point [128, 127]".</summary>
    public override string ToString()
    {
        var (a, b) = Learning == RangeLearning.MinMax ? ("min", "max") : ("scale", "zero point");
        return $"{a} [{Values(_first)}], {b} [{Values(_second)}]";
    }

    private static string Values(float[] values) =>
        string.Join(", ", values.Take(8).Select(v => v.ToString("G4", System.Globalization.CultureInfo.InvariantCulture))) + (values.Length > 8 ? $", … ({values.Length})" : "");

    private InvalidOperationException Wrong(string name) =>
        new($"{name} is not a parameter of a quantizer that learns {Learning}; it learns {(Learning == RangeLearning.MinMax ? "Min and Max" : "Scale and ZeroPoint")}.");
}
