namespace Quant.Net.Kernels;

/// <summary>How block scales are stored (the kernels always compute with float32).</summary>
public enum BlockScaleType
{
    /// <summary>float32 scales.</summary>
    Fp32,

    /// <summary>float16 scales: each scale is rounded to half precision when quantizing, halving scale storage.</summary>
    Fp16,
}
