namespace Quant.Net.Onnx;

/// <summary>How <see cref="OnnxModel.Save"/> lays out tensor data.</summary>
public sealed record OnnxSaveOptions
{
    /// <summary>Write large tensors to a separate data file even when the model is below 2 GiB.</summary>
    public bool UseExternalData { get; init; }

    /// <summary>Tensors at least this many bytes go to the data file when external data is used.</summary>
    public int ExternalDataThreshold { get; init; } = 1024;
}
