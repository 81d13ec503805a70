namespace Quant.Net.Kernels;

/// <summary>
/// A weight matrix W[N, K] (N outputs, K inputs) quantized to 4 or 8 bits in blocks along K, each block with a scale and
/// a zero point (unsigned codes: <c>w = (code − zero_point) · scale</c>; symmetric blocks use zero point 8 or 128).
/// Packed once for the block GEMV/GEMM kernels: groups of 8 output columns, K in octets, two 4-bit codes per byte.
/// K need not be a multiple of the block size (the last block is padded). The ONNX adapter writes
/// them in ONNX Runtime's MatMulNBits layout from the public accessors.
/// </summary>
public sealed class BlockQuantizedWeights
{
    internal const int GroupColumns = 8;

    private BlockQuantizedWeights(int n, int k, BlockQuantizationOptions options)
    {
        N = n;
        K = k;
        Bits = options.Bits;
        BlockSize = options.BlockSize;
        IsSymmetric = options.Symmetric;
        ScaleType = options.ScaleType;
        BlockCount = (k + BlockSize - 1) / BlockSize;
        Groups = (n + GroupColumns - 1) / GroupColumns;
        Octets = BlockCount * BlockSize / 8;
        Codes = new byte[(long)Groups * Octets * OctetBytes];
        Scales = new float[Groups * BlockCount * GroupColumns];
        ZeroPoints = new int[Groups * BlockCount * GroupColumns];
    }

    /// <summary>Output features (rows of W).</summary>
    public int N { get; }

    /// <summary>Input features (the reduction dimension).</summary>
    public int K { get; }

    /// <summary>4 or 8.</summary>
    public int Bits { get; }

    /// <summary>Weights per block along K.</summary>
    public int BlockSize { get; }

    /// <summary>Blocks per output row: ceil(K / BlockSize).</summary>
    public int BlockCount { get; }

    /// <summary>Whether every zero point is the middle code.</summary>
    public bool IsSymmetric { get; }

    /// <summary>How scales are stored.</summary>
    public BlockScaleType ScaleType { get; }

    /// <summary>Bytes of weight codes, scales (at their storage type) and zero points (packed like MatMulNBits; none if symmetric).</summary>
    public long StorageBytes => ((long)N * BlockCount * BlockSize * Bits / 8) + ((long)N * BlockCount * (ScaleType == BlockScaleType.Fp16 ? 2 : 4))
        + (IsSymmetric ? 0 : (long)N * ((BlockCount * Bits) + 7) / 8);

    internal int Groups { get; }

    internal int Octets { get; }

    /// <summary>Bytes per group per octet: 8 columns × 8 codes × bits / 8.</summary>
    internal int OctetBytes => Bits * 8;

    /// <summary>[group][octet][lane × 4 bytes]: int4 byte t of a lane = code(k = 8o + t) | code(k = 8o + 4 + t) &lt;&lt; 4;
    /// int8: 32 bytes for k = 8o..8o+3, then 32 for 8o+4..8o+7.</summary>
    internal byte[] Codes { get; }

    /// <summary>[group][block][lane]; 0 for padding columns.</summary>
    internal float[] Scales { get; }

    /// <summary>[group][block][lane], unsigned codes.</summary>
    internal int[] ZeroPoints { get; }

    /// <summary>Quantizes W. Values are rounded half to even; NaN or infinite weights are rejected.</summary>
    /// <param name="weights">W in <paramref name="layout"/>.</param>
    /// <param name="k">Input features (the reduction dimension, as in <see cref="PackedInt8Weights.Pack(ReadOnlySpan{sbyte}, int, int, WeightLayout, ReadOnlySpan{int}, ReadOnlySpan{float})"/>).</param>
    /// <param name="n">Output features.</param>
    /// <param name="layout">[N, K] (Linear/Gemm transB) or [K, N] (MatMul's B).</param>
    /// <param name="options">Bits, block size, symmetry, scale type, rounding.</param>
    /// <exception cref="ArgumentException">Sizes do not match, an option is out of range, or a weight is not finite (its index is named).</exception>
    public static BlockQuantizedWeights Quantize(ReadOnlySpan<float> weights, int k, int n, WeightLayout layout, BlockQuantizationOptions? options = null)
    {
        options ??= new BlockQuantizationOptions();
        ValidateWeights(weights, n, k, options);
        return QuantizeBlocks(weights, n, k, layout, options, hessian: default);
    }

    /// <summary>
    /// Quantizes W with each block's range searched for the smallest error of the layer's outputs on calibration data
    /// rather than of the weights (AIMET's sequential-MSE idea, per block): the clipping ratio r ∈ {1, 1 − s, …,
    /// <see cref="BlockQuantizationOptions.MinimumClipRatio"/>} minimising eᵀ·H_b·e, where e is the block's rounding
    /// error and H_b the block's diagonal block of the layer's input Hessian H = Σ x·xᵀ, so weights whose inputs are large
    /// or correlated weigh more. Interactions between blocks are not modelled; values round to nearest.
    /// <see cref="BlockQuantizationOptions.Rounding"/> is not consulted: the search always runs.
    /// </summary>
    /// <param name="weights">W in <paramref name="layout"/>.</param>
    /// <param name="k">Input features (the reduction dimension, as in <see cref="PackedInt8Weights.Pack(ReadOnlySpan{sbyte}, int, int, WeightLayout, ReadOnlySpan{int}, ReadOnlySpan{float})"/>).</param>
    /// <param name="n">Output features.</param>
    /// <param name="layout">[N, K] or [K, N].</param>
    /// <param name="hessian">H [K, K], row-major: the sum of x·xᵀ over the layer's calibration inputs x (symmetric).</param>
    /// <param name="options">Bits, block size, symmetry, scale type, search grid.</param>
    /// <param name="progress">Receives the blocks (along K) done, a few times per second at most and at the end; the result does not depend on it.</param>
    /// <param name="cancellationToken">Checked at every block.</param>
    /// <exception cref="ArgumentException">Sizes do not match, an option is out of range, or a weight or Hessian entry is not finite.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static BlockQuantizedWeights QuantizeSeqMse(ReadOnlySpan<float> weights, int k, int n, WeightLayout layout, ReadOnlySpan<double> hessian,
        BlockQuantizationOptions? options = null, IProgress<WorkProgress>? progress = null, CancellationToken cancellationToken = default) =>
        QuantizeSeqMse(weights, k, n, layout, hessian, options, progress, null, cancellationToken);

    /// <summary>As the public overload, timing progress reports with <paramref name="time"/> (the system clock when null).</summary>
    internal static BlockQuantizedWeights QuantizeSeqMse(ReadOnlySpan<float> weights, int k, int n, WeightLayout layout, ReadOnlySpan<double> hessian,
        BlockQuantizationOptions? options, IProgress<WorkProgress>? progress, TimeProvider? time, CancellationToken cancellationToken)
    {
        options ??= new BlockQuantizationOptions();
        ValidateInputs(weights, n, k, hessian, options);
        return QuantizeBlocks(weights, n, k, layout, options with { Rounding = BlockRounding.MseSearch }, hessian, progress, time, cancellationToken);
    }

    private static BlockQuantizedWeights QuantizeBlocks(ReadOnlySpan<float> weights, int n, int k, WeightLayout layout, BlockQuantizationOptions options,
        ReadOnlySpan<double> hessian, IProgress<WorkProgress>? progress = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var result = new BlockQuantizedWeights(n, k, options);
        var reporter = new ThrottledProgress(progress, result.BlockCount, cancellationToken, time);
        int qMax = (1 << options.Bits) - 1, middle = 1 << (options.Bits - 1);
        var block = new float[options.BlockSize];
        var codes = new byte[options.BlockSize];
        var weighting = hessian.IsEmpty ? null : new double[options.BlockSize * options.BlockSize];
        for (int b = 0; b < result.BlockCount; b++)
        {
            int start = b * options.BlockSize, length = Math.Min(options.BlockSize, k - start);
            if (weighting is not null)
            {
                for (int i = 0; i < length; i++)
                {
                    hessian.Slice(((start + i) * k) + start, length).CopyTo(weighting.AsSpan(i * length, length));
                }
            }

            for (int row = 0; row < n; row++)
            {
                for (int i = 0; i < length; i++)
                {
                    block[i] = layout == WeightLayout.NByK ? weights[(row * k) + start + i] : weights[((start + i) * n) + row];
                }

                var (scale, zeroPoint) = ChooseBlock(block.AsSpan(0, length), options, qMax, middle, weighting);
                for (int i = 0; i < options.BlockSize; i++)
                {
                    codes[i] = i < length ? Code(block[i], scale, zeroPoint, qMax) : (byte)zeroPoint;
                }

                result.Store(row, b, codes, scale, zeroPoint);
            }

            reporter.Step(b + 1);
        }

        reporter.Complete();
        return result;
    }

    /// <summary>
    /// Quantizes W with GPTQ rounding: columns in K order, each rounding error moved onto the columns not yet rounded
    /// by the inverse of the layer's Hessian H = Σ x·xᵀ over calibration inputs, so that the layer's outputs on that data
    /// stay close rather than its weights (Frantar et al., 2023). Block scales follow <paramref name="options"/>
    /// (nearest or MSE-searched ranges), chosen when the rounding reaches each block.
    /// </summary>
    /// <param name="weights">W in <paramref name="layout"/>.</param>
    /// <param name="k">Input features (the reduction dimension, as in <see cref="PackedInt8Weights.Pack(ReadOnlySpan{sbyte}, int, int, WeightLayout, ReadOnlySpan{int}, ReadOnlySpan{float})"/>).</param>
    /// <param name="n">Output features.</param>
    /// <param name="layout">[N, K] or [K, N].</param>
    /// <param name="hessian">H [K, K], row-major: the sum of x·xᵀ over the layer's calibration inputs x (symmetric).</param>
    /// <param name="options">Bits, block size, symmetry, scale type, block range rounding.</param>
    /// <param name="damping">Added to H's diagonal as a fraction of its mean (GPTQ's 0.01) so that H inverts.</param>
    /// <param name="progress">
    /// Receives the work done — the factorization of H, then the columns, in multiply-adds estimated from n and k — a few
    /// times per second at most and at the end; the result does not depend on it.
    /// </param>
    /// <param name="cancellationToken">Checked at every group of rows of the factorization and at every column.</param>
    /// <exception cref="ArgumentException">Sizes do not match, an option is out of range, a weight or Hessian entry is not finite, or damping is not positive.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static BlockQuantizedWeights QuantizeGptq(ReadOnlySpan<float> weights, int k, int n, WeightLayout layout, ReadOnlySpan<double> hessian,
        BlockQuantizationOptions? options = null, double damping = 0.01, IProgress<WorkProgress>? progress = null, CancellationToken cancellationToken = default) =>
        QuantizeGptq(weights, k, n, layout, hessian, options, damping, progress, null, cancellationToken);

    /// <summary>As the public overload, timing progress reports with <paramref name="time"/> (the system clock when null).</summary>
    internal static BlockQuantizedWeights QuantizeGptq(ReadOnlySpan<float> weights, int k, int n, WeightLayout layout, ReadOnlySpan<double> hessian,
        BlockQuantizationOptions? options, double damping, IProgress<WorkProgress>? progress, TimeProvider? time, CancellationToken cancellationToken)
    {
        options ??= new BlockQuantizationOptions();
        if (!(damping > 0) || !double.IsFinite(damping))
        {
            throw new ArgumentException($"Damping must be positive and finite; got {damping}.", nameof(damping));
        }

        ValidateInputs(weights, n, k, hessian, options);
        return GptqRounding.Quantize(weights, n, k, layout, hessian, options, damping, progress, time, cancellationToken);
    }

    private static void ValidateWeights(ReadOnlySpan<float> weights, int n, int k, BlockQuantizationOptions options)
    {
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (weights.Length != (long)n * k)
        {
            throw new ArgumentException($"Expected {n} × {k} = {(long)n * k} weights, got {weights.Length}.", nameof(weights));
        }

        for (int i = 0; i < weights.Length; i++)
        {
            if (!float.IsFinite(weights[i]))
            {
                throw new ArgumentException($"Weight {i} is {weights[i]}; block quantization needs finite weights.", nameof(weights));
            }
        }
    }

    private static void ValidateInputs(ReadOnlySpan<float> weights, int n, int k, ReadOnlySpan<double> hessian, BlockQuantizationOptions options)
    {
        ValidateWeights(weights, n, k, options);
        if (hessian.Length != (long)k * k)
        {
            throw new ArgumentException($"The Hessian must be K × K = {(long)k * k} values, got {hessian.Length}.", nameof(hessian));
        }

        for (int i = 0; i < hessian.Length; i++)
        {
            if (!double.IsFinite(hessian[i]))
            {
                throw new ArgumentException($"Hessian entry {i} is {hessian[i]}.", nameof(hessian));
            }
        }
    }

    internal static BlockQuantizedWeights Create(int n, int k, BlockQuantizationOptions options) => new(n, k, options);

    private const uint Magic = 0x34424E51; // "QNB4", little-endian
    private const int FormatVersion = 1;

    /// <summary>Writes the packed weights (codes as packed, scales, zero points) to <paramref name="stream"/>, little-endian, versioned.</summary>
    /// <param name="stream">A writable stream; it is left open.</param>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(FormatVersion);
        writer.Write(N);
        writer.Write(K);
        writer.Write(Bits);
        writer.Write(BlockSize);
        writer.Write(IsSymmetric);
        writer.Write((int)ScaleType);
        writer.Write(Codes);
        foreach (float scale in Scales)
        {
            writer.Write(scale);
        }

        foreach (int zeroPoint in ZeroPoints)
        {
            writer.Write(zeroPoint);
        }
    }

    /// <summary>Reads weights written by <see cref="Save"/>.</summary>
    /// <param name="stream">A readable stream positioned at the weights; it is left open after them.</param>
    /// <exception cref="InvalidDataException">The stream does not hold such weights, has another format version, is truncated or holds values out of range (the message says which).</exception>
    public static BlockQuantizedWeights Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            if (reader.ReadUInt32() != Magic)
            {
                throw new InvalidDataException("Not block-quantized weights (bad magic number).");
            }

            int version = reader.ReadInt32();
            if (version != FormatVersion)
            {
                throw new InvalidDataException($"Block-quantized weights of format version {version}; this version reads {FormatVersion}.");
            }

            int n = reader.ReadInt32(), k = reader.ReadInt32(), bits = reader.ReadInt32(), blockSize = reader.ReadInt32();
            bool symmetric = reader.ReadBoolean();
            int scaleType = reader.ReadInt32();
            if (n < 1 || k < 1 || !Enum.IsDefined((BlockScaleType)scaleType))
            {
                throw new InvalidDataException($"Block-quantized weights with N = {n}, K = {k}, scale type {scaleType}.");
            }

            var options = new BlockQuantizationOptions { Bits = bits, BlockSize = blockSize, Symmetric = symmetric, ScaleType = (BlockScaleType)scaleType };
            try
            {
                options.Validate();
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"Block-quantized weights with invalid options: {e.Message}", e);
            }

            var weights = new BlockQuantizedWeights(n, k, options);
            if (reader.Read(weights.Codes, 0, weights.Codes.Length) != weights.Codes.Length)
            {
                throw new EndOfStreamException();
            }

            int qMax = (1 << bits) - 1;
            for (int i = 0; i < weights.Scales.Length; i++)
            {
                float scale = reader.ReadSingle();
                int row = ((i / (weights.BlockCount * GroupColumns)) * GroupColumns) + (i % GroupColumns);
                if (row < n && (!(scale > 0) || !float.IsFinite(scale)))
                {
                    throw new InvalidDataException($"Block-quantized weights: scale {i} is {scale}.");
                }

                weights.Scales[i] = scale;
            }

            for (int i = 0; i < weights.ZeroPoints.Length; i++)
            {
                int zeroPoint = reader.ReadInt32();
                if (zeroPoint < 0 || zeroPoint > qMax)
                {
                    throw new InvalidDataException($"Block-quantized weights: zero point {i} is {zeroPoint}, outside [0, {qMax}].");
                }

                weights.ZeroPoints[i] = zeroPoint;
            }

            return weights;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("Block-quantized weights are truncated.", e);
        }
    }

    internal static byte Code(float value, float scale, int zeroPoint, int qMax) =>
        (byte)Math.Clamp(Math.Round(value / scale, MidpointRounding.ToEven) + zeroPoint, 0, qMax);

    /// <summary>
    /// Scale and zero point for one block: full range, or the clipping ratio with the smallest squared error, weighted by
    /// <paramref name="weighting"/> (the block's [length, length] Hessian block: error eᵀ·H·e) when given.
    /// </summary>
    internal static (float Scale, int ZeroPoint) ChooseBlock(ReadOnlySpan<float> block, BlockQuantizationOptions options, int qMax, int middle, double[]? weighting = null)
    {
        float min = 0, max = 0;
        foreach (float v in block)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        (float, int) Candidate(float ratio)
        {
            float scale;
            int zeroPoint;
            if (options.Symmetric)
            {
                // As AIMET: the largest magnitude fits on both sides, codes [-middle, middle - 1] around the middle code.
                scale = Math.Max(-min, max) * ratio / (middle - 1);
                zeroPoint = middle;
            }
            else
            {
                scale = (max - min) * ratio / qMax;
                zeroPoint = scale > 0 ? (int)Math.Clamp(Math.Round(-min * ratio / scale, MidpointRounding.ToEven), 0, qMax) : middle;
            }

            scale = scale > 0 && float.IsFinite(scale) ? Math.Max(scale, QuantParams.MinScale) : 1f;
            if (options.ScaleType == BlockScaleType.Fp16)
            {
                float half = (float)(Half)scale;
                scale = half > 0 && float.IsFinite(half) ? half : (float)Half.Epsilon;
            }

            return (scale, zeroPoint);
        }

        var best = Candidate(1f);
        if (options.Rounding == BlockRounding.Nearest || (min == 0 && max == 0))
        {
            return best;
        }

        double bestError = Error(block, best.Item1, best.Item2, qMax, weighting);
        float step = (1f - options.MinimumClipRatio) / options.SearchSteps;
        for (int s = 1; s <= options.SearchSteps; s++)
        {
            var candidate = Candidate(1f - (s * step));
            double error = Error(block, candidate.Item1, candidate.Item2, qMax, weighting);
            if (error < bestError)
            {
                (best, bestError) = (candidate, error);
            }
        }

        return best;
    }

    private static double Error(ReadOnlySpan<float> block, float scale, int zeroPoint, int qMax, double[]? weighting)
    {
        double error = 0;
        if (weighting is null)
        {
            foreach (float v in block)
            {
                double e = v - ((Code(v, scale, zeroPoint, qMax) - zeroPoint) * scale);
                error += e * e;
            }

            return error;
        }

        int length = block.Length;
        Span<double> errors = stackalloc double[length];
        for (int i = 0; i < length; i++)
        {
            errors[i] = block[i] - ((Code(block[i], scale, zeroPoint, qMax) - zeroPoint) * (double)scale);
        }

        for (int i = 0; i < length; i++)
        {
            double rowSum = 0;
            var h = weighting.AsSpan(i * length, length);
            for (int j = 0; j < length; j++)
            {
                rowSum += h[j] * errors[j];
            }

            error += errors[i] * rowSum;
        }

        return error;
    }

    internal void Store(int row, int block, ReadOnlySpan<byte> codes, float scale, int zeroPoint)
    {
        int group = row / GroupColumns, lane = row % GroupColumns;
        Scales[(((group * BlockCount) + block) * GroupColumns) + lane] = scale;
        ZeroPoints[(((group * BlockCount) + block) * GroupColumns) + lane] = zeroPoint;
        for (int i = 0; i < codes.Length; i++)
        {
            SetCode(group, lane, (block * BlockSize) + i, codes[i]);
        }
    }

    private long CodeIndex(int group, int lane, int k, out int shift)
    {
        int octet = k / 8, t = k % 8;
        long baseIndex = ((long)group * Octets + octet) * OctetBytes;
        if (Bits == 4)
        {
            shift = t < 4 ? 0 : 4;
            return baseIndex + (lane * 4) + (t % 4);
        }

        shift = 0;
        return baseIndex + (t < 4 ? 0 : 32) + (lane * 4) + (t % 4);
    }

    private void SetCode(int group, int lane, int k, byte code)
    {
        long i = CodeIndex(group, lane, k, out int shift);
        Codes[i] = Bits == 4 ? (byte)((Codes[i] & ~(0xF << shift)) | (code << shift)) : code;
    }

    /// <summary>The unsigned code of W[row, k].</summary>
    public int GetCode(int row, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, N);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(k, BlockCount * BlockSize);
        return CodeAt(row / GroupColumns, row % GroupColumns, k);
    }

    /// <summary>The code at (group, lane, k) without range checks: the one place that reads the packed layout.</summary>
    internal int CodeAt(int group, int lane, int k)
    {
        long i = CodeIndex(group, lane, k, out int shift);
        return Bits == 4 ? (Codes[i] >> shift) & 0xF : Codes[i];
    }

    /// <summary>Scale of block <paramref name="block"/> of row <paramref name="row"/>.</summary>
    public float GetScale(int row, int block) => Scales[((((row / GroupColumns) * BlockCount) + block) * GroupColumns) + (row % GroupColumns)];

    /// <summary>Zero point (unsigned code) of block <paramref name="block"/> of row <paramref name="row"/>.</summary>
    public int GetZeroPoint(int row, int block) => ZeroPoints[((((row / GroupColumns) * BlockCount) + block) * GroupColumns) + (row % GroupColumns)];

    /// <summary>The dequantized weights W̃[N, K], row-major.</summary>
    public float[] Dequantize()
    {
        var w = new float[(long)N * K];
        for (int row = 0; row < N; row++)
        {
            for (int k = 0; k < K; k++)
            {
                int b = k / BlockSize;
                w[((long)row * K) + k] = (GetCode(row, k) - GetZeroPoint(row, b)) * GetScale(row, b);
            }
        }

        return w;
    }
}
