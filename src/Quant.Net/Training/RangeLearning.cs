namespace Quant.Net.Training;

/// <summary>How a <see cref="FakeQuantizer"/> treats its encoding in the learning phase.</summary>
public enum RangeLearning
{
    /// <summary>Fixed encoding from the observer; gradients pass straight through inside the range (STE).</summary>
    None,

    /// <summary>Learned scale and zero point with LSQ gradients (Esser et al., 2020), scaled by 1/√(N·Q_P).</summary>
    Lsq,

    /// <summary>AIMET's range learning: the encoding's min and max are learned; scale and zero point follow from them.</summary>
    MinMax,
}
