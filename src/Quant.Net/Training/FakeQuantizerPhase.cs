namespace Quant.Net.Training;

/// <summary>Where a quantizer is in training.</summary>
public enum FakeQuantizerPhase
{
    /// <summary>Ranges come from the observer (moving average by default); only the input gets a gradient.</summary>
    Observing,

    /// <summary>Encoding parameters are learned.</summary>
    Learning,

    /// <summary>Encoding fixed; only the input gets a gradient.</summary>
    Frozen,
}
