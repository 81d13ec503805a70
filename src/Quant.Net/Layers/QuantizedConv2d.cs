using System.Buffers;
using Quant.Net.Kernels;

namespace Quant.Net.Layers;

/// <summary>
/// A 2-D convolution (NCHW) running in int8: weights quantized once (int8 per output channel by default), the input
/// quantized to uint8 per call (dynamically, or with a fixed encoding), an exact int8 GEMM over the patches, float
/// output. With a fixed input encoding the layer also takes uint8 codes and can write uint8 codes (requantized in its
/// output stage, as ONNX QLinearConv), so int8 layers chain without a float tensor between them.
/// </summary>
public sealed class QuantizedConv2d
{
    private readonly Conv2d _conv;

    /// <summary>Quantizes FP32 weights and builds the layer.</summary>
    /// <param name="shape">The convolution geometry.</param>
    /// <param name="weights">[OutChannels, InChannels / Groups, KH, KW], row-major.</param>
    /// <param name="bias">Empty or one per output channel.</param>
    /// <param name="weightScheme">An 8-bit signed scheme, per tensor or per channel along axis 0 (default: per channel, symmetric, narrow).</param>
    /// <param name="inputEncoding">A fixed uint8 encoding for the input, or null for dynamic quantization.</param>
    public QuantizedConv2d(Conv2dShape shape, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, QuantScheme? weightScheme = null, QuantParams? inputEncoding = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (weights.Length != (long)shape.OutChannels * shape.GroupK) throw new ArgumentException($"Expected {(long)shape.OutChannels * shape.GroupK} weights, got {weights.Length}.", nameof(weights));
        var scheme = weightScheme ?? QuantScheme.Int8SymmetricPerChannel(axis: 0);
        WeightEncoding = LayerQuantization.QuantizeWeights(weights, [shape.OutChannels, shape.GroupK], scheme, nameof(weightScheme), out sbyte[] q);
        InputEncoding = LayerQuantization.CheckInputEncoding(inputEncoding, nameof(inputEncoding));
        _conv = Conv2d.CreateQuantized(shape, q, WeightEncoding.Scales, WeightEncoding.ZeroPoints, bias);
    }

    /// <summary>The geometry.</summary>
    public Conv2dShape Shape => _conv.Shape;

    /// <summary>The weights' encoding.</summary>
    public QuantEncoding WeightEncoding { get; }

    /// <summary>The fixed input encoding, or null for dynamic quantization.</summary>
    public QuantParams? InputEncoding { get; }

    /// <summary>Forward pass over a batch of NCHW images.</summary>
    /// <param name="input">[batch, InChannels, height, width].</param>
    /// <param name="batch">Images.</param>
    /// <param name="height">Input height.</param>
    /// <param name="width">Input width.</param>
    /// <param name="output">[batch, OutChannels, OH, OW].</param>
    /// <param name="activation">The clamp fused into the output (default: none).</param>
    /// <param name="maxDegreeOfParallelism">Threads (1, −1 for all cores, or a limit).</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    public void Forward(ReadOnlySpan<float> input, int batch, int height, int width, Span<float> output, OutputClamp activation = default, int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null)
    {
        byte[] codes = ArrayPool<byte>.Shared.Rent(input.Length);
        try
        {
            var p = LayerQuantization.QuantizeInput(input, codes.AsSpan(0, input.Length), InputEncoding);
            _conv.Run(codes.AsSpan(0, input.Length), p.ZeroPoint, p.Scale, batch, height, width, output, activation, maxDegreeOfParallelism, pool);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(codes);
        }
    }

    /// <summary>Forward pass over uint8 codes in <see cref="InputEncoding"/> (no quantization), float output.</summary>
    /// <param name="input">[batch, InChannels, height, width] codes in <see cref="InputEncoding"/>.</param>
    /// <param name="batch">Images.</param>
    /// <param name="height">Input height.</param>
    /// <param name="width">Input width.</param>
    /// <param name="output">[batch, OutChannels, OH, OW].</param>
    /// <param name="activation">The clamp fused into the output (default: none).</param>
    /// <param name="maxDegreeOfParallelism">Threads (1, −1 for all cores, or a limit).</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    /// <exception cref="InvalidOperationException">The layer has no fixed input encoding.</exception>
    /// <remarks>The same floats as <see cref="Forward(ReadOnlySpan{float}, int, int, int, Span{float}, OutputClamp, int, KernelThreadPool?)"/>
    /// gives for the dequantized codes (which quantize back to themselves).</remarks>
    public void Forward(ReadOnlySpan<byte> input, int batch, int height, int width, Span<float> output, OutputClamp activation = default, int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null)
    {
        var p = FixedInput();
        _conv.Run(input, p.ZeroPoint, p.Scale, batch, height, width, output, activation, maxDegreeOfParallelism, pool);
    }

    /// <summary>
    /// Forward pass from uint8 codes in <see cref="InputEncoding"/> to uint8 codes in <paramref name="outputEncoding"/>, as ONNX
    /// QLinearConv: the bias rounded to int32 at scale <c>inputScale · weightScale[co]</c> and added to the exact sums, then
    /// <c>q = saturate(round_half_to_even((acc + bias) · inputScale · weightScale[co] / outputScale) + outputZeroPoint)</c>,
    /// clamped at the codes of <paramref name="activation"/>'s bounds (ReLU: at the zero point). No float tensor is
    /// written: pass the next int8 layer's input encoding and its input is ready.
    /// </summary>
    /// <param name="input">[batch, InChannels, height, width] codes in <see cref="InputEncoding"/>.</param>
    /// <param name="batch">Images.</param>
    /// <param name="height">Input height.</param>
    /// <param name="width">Input width.</param>
    /// <param name="output">[batch, OutChannels, OH, OW] codes in <paramref name="outputEncoding"/>.</param>
    /// <param name="outputEncoding">The output's encoding; its range must fit uint8.</param>
    /// <param name="activation">The clamp fused into the output (default: none).</param>
    /// <param name="maxDegreeOfParallelism">Threads (1, −1 for all cores, or a limit).</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    /// <exception cref="InvalidOperationException">The layer has no fixed input encoding.</exception>
    public void Forward(ReadOnlySpan<byte> input, int batch, int height, int width, Span<byte> output, QuantParams outputEncoding, OutputClamp activation = default,
        int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null)
    {
        var p = FixedInput();
        _conv.Run(input, p.ZeroPoint, p.Scale, batch, height, width, output, outputEncoding, activation, maxDegreeOfParallelism, pool);
    }

    /// <summary>Forward pass from floats (quantized as <see cref="Forward(ReadOnlySpan{float}, int, int, int, Span{float}, OutputClamp, int, KernelThreadPool?)"/>
    /// does) to uint8 codes in <paramref name="outputEncoding"/> (see <see cref="Forward(ReadOnlySpan{byte}, int, int, int, Span{byte}, QuantParams, OutputClamp, int, KernelThreadPool?)"/>).</summary>
    /// <param name="input">[batch, InChannels, height, width].</param>
    /// <param name="batch">Images.</param>
    /// <param name="height">Input height.</param>
    /// <param name="width">Input width.</param>
    /// <param name="output">[batch, OutChannels, OH, OW] codes in <paramref name="outputEncoding"/>.</param>
    /// <param name="outputEncoding">The output's encoding; its range must fit uint8.</param>
    /// <param name="activation">The clamp fused into the output (default: none).</param>
    /// <param name="maxDegreeOfParallelism">Threads (1, −1 for all cores, or a limit).</param>
    /// <param name="pool">The worker threads when <paramref name="maxDegreeOfParallelism"/> ≠ 1 (default: <see cref="KernelThreadPool.Shared"/>).</param>
    public void Forward(ReadOnlySpan<float> input, int batch, int height, int width, Span<byte> output, QuantParams outputEncoding, OutputClamp activation = default,
        int maxDegreeOfParallelism = 1, KernelThreadPool? pool = null)
    {
        byte[] codes = ArrayPool<byte>.Shared.Rent(input.Length);
        try
        {
            var p = LayerQuantization.QuantizeInput(input, codes.AsSpan(0, input.Length), InputEncoding);
            _conv.Run(codes.AsSpan(0, input.Length), p.ZeroPoint, p.Scale, batch, height, width, output, outputEncoding, activation, maxDegreeOfParallelism, pool);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(codes);
        }
    }

    private QuantParams FixedInput() => InputEncoding ?? throw new InvalidOperationException(
        "uint8 input needs the layer's fixed InputEncoding; this layer quantizes each input from its own range (pass inputEncoding when building it).");
}
