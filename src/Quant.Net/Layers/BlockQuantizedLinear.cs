using Quant.Net.Kernels;

namespace Quant.Net.Layers;

/// <summary>
/// A fully connected layer with int4 (or int8) weights in blocks — the decode path of a language model in app code:
/// <c>y = x · Wᵀ + b</c> on <see cref="BlockGemm"/>, with float activations or activations quantized to int8 per block
/// (ONNX Runtime's MatMulNBits accuracy levels 0 and 4). The counterpart of <see cref="QuantizedLinear"/> for
/// weight-only quantization; its packed weights save and load without quantizing again.
/// </summary>
public sealed class BlockQuantizedLinear
{
    private const uint Magic = 0x4C424E51; // "QNBL", little-endian
    private const int FormatVersion = 1;
    private readonly float[] _bias;

    /// <summary>A layer over weights already quantized (by <see cref="BlockQuantizedWeights.Quantize"/>, GPTQ, or loaded).</summary>
    /// <param name="weights">W [OutFeatures = N, InFeatures = K].</param>
    /// <param name="bias">Empty or one per output feature.</param>
    /// <param name="mode">Float activations, or int8 activations per block.</param>
    public BlockQuantizedLinear(BlockQuantizedWeights weights, ReadOnlySpan<float> bias, BlockGemmMode mode = BlockGemmMode.FloatActivations)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (!bias.IsEmpty && bias.Length != weights.N) throw new ArgumentException($"Bias must be empty or hold {weights.N} values, got {bias.Length}.", nameof(bias));
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown block GEMM mode.");
        Weights = weights;
        Mode = mode;
        _bias = bias.IsEmpty ? [] : bias.ToArray();
    }

    /// <summary>Quantizes FP32 weights [outFeatures, inFeatures] (PyTorch's Linear layout) and builds the layer.</summary>
    /// <param name="weights">[outFeatures, inFeatures], row-major.</param>
    /// <param name="inFeatures">Input features, ≥ 1.</param>
    /// <param name="outFeatures">Output features, ≥ 1.</param>
    /// <param name="bias">Empty or one per output feature.</param>
    /// <param name="options">Bits, block size, symmetry, scale type, rounding (defaults: int4, blocks of 32, symmetric).</param>
    /// <param name="mode">Float activations, or int8 activations per block.</param>
    public static BlockQuantizedLinear FromFloat(ReadOnlySpan<float> weights, int inFeatures, int outFeatures, ReadOnlySpan<float> bias,
        BlockQuantizationOptions? options = null, BlockGemmMode mode = BlockGemmMode.FloatActivations) =>
        new(BlockQuantizedWeights.Quantize(weights, inFeatures, outFeatures, WeightLayout.NByK, options), bias, mode);

    /// <summary>The packed weights.</summary>
    public BlockQuantizedWeights Weights { get; }

    /// <summary>How activations are multiplied.</summary>
    public BlockGemmMode Mode { get; }

    /// <summary>Input features (K).</summary>
    public int InFeatures => Weights.K;

    /// <summary>Output features (N).</summary>
    public int OutFeatures => Weights.N;

    /// <summary>Bytes of codes, scales and zero points this layer holds (FP32 would need 4 · InFeatures · OutFeatures).</summary>
    public long WeightBytes => Weights.StorageBytes;

    /// <summary>y = x · Wᵀ + b for a batch of rows (one row per decoded token).</summary>
    /// <param name="input">[batch, InFeatures].</param>
    /// <param name="output">[batch, OutFeatures].</param>
    /// <param name="maxDegreeOfParallelism">Threads (1, −1 for all cores, or a limit); results do not depend on it.</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    public void Forward(ReadOnlySpan<float> input, Span<float> output, int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null)
    {
        if (input.Length % InFeatures != 0) throw new ArgumentException($"Input length {input.Length} is not a whole number of rows of {InFeatures}.", nameof(input));
        int batch = input.Length / InFeatures;
        if (output.Length != (long)batch * OutFeatures) throw new ArgumentException($"Output must hold {(long)batch * OutFeatures} values, got {output.Length}.", nameof(output));
        BlockGemm.Multiply(input, batch, Weights, _bias, output, Mode, maxDegreeOfParallelism, pool);
    }

    /// <summary>Writes the layer (mode, bias, packed weights) to <paramref name="stream"/>; it is left open.</summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write((int)Mode);
            writer.Write(_bias.Length);
            foreach (float b in _bias)
            {
                writer.Write(b);
            }
        }

        Weights.Save(stream);
    }

    /// <summary>Reads a layer written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">The stream does not hold such a layer, has another format version, is truncated or inconsistent (the message says which).</exception>
    public static BlockQuantizedLinear Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        BlockGemmMode mode;
        float[] bias;
        using (var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            try
            {
                if (reader.ReadUInt32() != Magic) throw new InvalidDataException("Not a block-quantized linear layer (bad magic number).");
                int version = reader.ReadInt32();
                if (version != FormatVersion) throw new InvalidDataException($"Block-quantized linear layer of format version {version}; this version reads {FormatVersion}.");
                mode = (BlockGemmMode)reader.ReadInt32();
                if (!Enum.IsDefined(mode)) throw new InvalidDataException($"Block-quantized linear layer with unknown mode {(int)mode}.");
                int biasLength = reader.ReadInt32();
                if (biasLength < 0 || biasLength > 1 << 28) throw new InvalidDataException($"Block-quantized linear layer with {biasLength} bias values.");
                bias = new float[biasLength];
                for (int i = 0; i < biasLength; i++)
                {
                    bias[i] = reader.ReadSingle();
                }
            }
            catch (EndOfStreamException e)
            {
                throw new InvalidDataException("Block-quantized linear layer is truncated.", e);
            }
        }

        var weights = BlockQuantizedWeights.Load(stream);
        if (bias.Length != 0 && bias.Length != weights.N) throw new InvalidDataException($"Block-quantized linear layer has {bias.Length} bias values for {weights.N} outputs.");
        return new BlockQuantizedLinear(weights, bias, mode);
    }
}
