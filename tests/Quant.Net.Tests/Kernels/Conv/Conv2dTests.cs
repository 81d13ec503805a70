using FluentAssertions;
using Quant.Net.Kernels;

namespace Quant.Net.Tests.Kernels;

[Trait("Category", "Kernel")]
public sealed class Conv2dTests
{
    private static IEnumerable<(Conv2dShape Shape, int H, int W)> Geometries(int count, int seed)
    {
        var r = new Random(seed);
        yield return (new Conv2dShape(3, 8, 3, 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 9, 7);           // ResNet-style 3×3
        yield return (new Conv2dShape(6, 6, 3, 3, groups: 6, strideHeight: 2, strideWidth: 2, padTop: 1, padLeft: 1), 8, 8); // depthwise, stride 2
        yield return (new Conv2dShape(4, 6, 1, 1, groups: 2), 5, 3);                                                   // grouped 1×1
        yield return (new Conv2dShape(2, 3, 3, 2, dilationHeight: 2, dilationWidth: 3, padBottom: 2, padRight: 1), 7, 9); // dilated, asymmetric pads
        yield return (new Conv2dShape(8, 5, 3, 3, padTop: 1, padLeft: 2, padBottom: 1, padRight: 0), 6, 7);            // channels in whole groups of 4
        yield return (new Conv2dShape(16, 6, 3, 3, groups: 2, strideHeight: 2, strideWidth: 2, padTop: 1, padLeft: 1), 9, 8);
        // Output rows of 16+ positions with whole channel groups: panels along one row take the block copies, the
        // rest (row ends, padding, the last partial panel) the per-position path; 1×1, dilated and grouped too.
        yield return (new Conv2dShape(8, 5, 3, 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 4, 40);
        yield return (new Conv2dShape(12, 7, 3, 3, dilationHeight: 2, dilationWidth: 2, padTop: 2, padLeft: 2, padBottom: 2, padRight: 2), 5, 35);
        yield return (new Conv2dShape(4, 3, 1, 1), 3, 33);
        yield return (new Conv2dShape(16, 8, 3, 3, groups: 2, padTop: 1, padLeft: 0, padBottom: 1, padRight: 2), 3, 50);
        yield return (new Conv2dShape(8, 4, 3, 3, strideHeight: 2, strideWidth: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 6, 70);
        yield return (new Conv2dShape(4, 4, 1, 3, padLeft: 1, padRight: 1), 2, 17);
        // Channels per group padded to whole KR groups in the int8 layout (3 → 4, 5 → 6 or 8): the RGB stem (7×7, stride 2),
        // grouped, stride 1 with runs of lanes on one row, and a dilated one.
        yield return (new Conv2dShape(3, 6, 7, 7, strideHeight: 2, strideWidth: 2, padTop: 3, padLeft: 3, padBottom: 3, padRight: 3), 11, 37);
        yield return (new Conv2dShape(10, 4, 3, 3, groups: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 5, 38);
        yield return (new Conv2dShape(6, 4, 3, 2, groups: 2, strideHeight: 2, dilationWidth: 2, padTop: 2, padRight: 1), 7, 9);
        yield return (new Conv2dShape(7, 3, 1, 1), 4, 19);
        // Depthwise (one input channel per group): 3×3 stride 1 and 2 over rows longer than a kernel step (64 positions on
        // AVX-512), a channel multiplier of 2, dilation with asymmetric pads, 5×5, and 1×1.
        yield return (new Conv2dShape(5, 5, 3, 3, groups: 5, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 9, 70);
        yield return (new Conv2dShape(4, 4, 3, 3, groups: 4, strideHeight: 2, strideWidth: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 13, 61);
        yield return (new Conv2dShape(3, 6, 3, 3, groups: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 6, 20);
        yield return (new Conv2dShape(2, 2, 3, 2, groups: 2, dilationHeight: 2, dilationWidth: 3, strideWidth: 2, padTop: 2, padRight: 1), 8, 33);
        yield return (new Conv2dShape(3, 3, 5, 5, groups: 3, padTop: 2, padLeft: 2, padBottom: 2, padRight: 2), 7, 7);
        yield return (new Conv2dShape(3, 3, 1, 1, groups: 3), 5, 17);
        // 17×16 = 272 taps: past the largest depthwise kernel whose int8 sums are exact in floats (the GEMM path takes it).
        yield return (new Conv2dShape(2, 2, 17, 16, groups: 2, padTop: 1, padRight: 2), 18, 20);
        for (int i = 0; i < count; i++)
        {
            int groups = r.Next(1, 3), cin = groups * r.Next(1, 4), cout = groups * r.Next(1, 5);
            int kh = r.Next(1, 4), kw = r.Next(1, 4);
            var shape = new Conv2dShape(cin, cout, kh, kw, groups, r.Next(1, 3), r.Next(1, 3), r.Next(0, 3), r.Next(0, 3), r.Next(0, 3), r.Next(0, 3), r.Next(1, 3), r.Next(1, 3));
            int h = shape.DilationHeight * (kh - 1) + r.Next(1, 8), w = shape.DilationWidth * (kw - 1) + r.Next(1, 8);
            yield return (shape, h, w);
        }
    }

    [Fact]
    public void Fp32_convolution_matches_a_double_precision_reference()
    {
        foreach (var (shape, h, w) in Geometries(12, 1))
        {
            const int batch = 2;
            float[] input = TestData.Floats(batch * shape.InChannels * h * w, h * 31 + w, spread: 1f, withSpecials: false);
            float[] weights = TestData.Floats(shape.OutChannels * shape.GroupK, h + w, spread: 1f, withSpecials: false);
            float[] bias = TestData.Floats(shape.OutChannels, 5, spread: 1f, withSpecials: false);
            var conv = Conv2d.CreateFloat(shape, weights, bias);
            var (oh, ow) = shape.OutputSize(h, w);
            var output = new float[batch * shape.OutChannels * oh * ow];
            conv.Run(input, batch, h, w, output, OutputClamp.None, 1);
            var (expected, magnitude) = Reference(shape, batch, h, w, (c, i) => input[c * h * w + i], weights.Select(v => (double)v).ToArray(), bias);
            for (int i = 0; i < output.Length; i++)
                Math.Abs(output[i] - expected[i]).Should().BeLessThanOrEqualTo((shape.GroupK + 2) * Math.ScaleB(1, -24) * magnitude[i] + 1e-30, $"{shape} element {i}");
        }
    }

    [Fact]
    public void Fp32_convolution_gives_the_bits_of_in_order_fused_multiply_adds()
    {
        // The oracle of every FP32 path: per output, one FMA per tap in (c, ky, kx) order from 0 (padding taps multiply
        // 0), then + bias and the compare-and-select clamp. Pixel tiles of 8 (AVX-512) or 6 rows that cross output rows
        // and end part-way, channel panels that end part-way (5, 33, 40, 44 per group: 44 = 32 + 12 stores one whole
        // 8-row tile as one 8×8 transpose and 4 scalar columns), several groups of several panels, 1×1 without padding
        // (read in place), one output pixel, stride 2 and 3, and every geometry of the other tests.
        var geometries = Geometries(12, 7).Concat(new[]
        {
            (new Conv2dShape(5, 33, 3, 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 7, 7),
            (new Conv2dShape(8, 80, 3, 3, groups: 2, strideHeight: 2, strideWidth: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 9, 13),
            (new Conv2dShape(6, 5, 1, 1, strideHeight: 2, strideWidth: 2), 11, 9),
            (new Conv2dShape(4, 40, 1, 1), 3, 5),
            (new Conv2dShape(3, 17, 3, 3), 3, 3),
            (new Conv2dShape(2, 9, 2, 3, strideHeight: 3, strideWidth: 3, padTop: 1, padRight: 2), 14, 10),
            (new Conv2dShape(4, 44, 3, 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 6, 9),
        });
        var clamps = new[] { OutputClamp.None, OutputClamp.Relu, new OutputClamp(-0.5f, 0.75f) };
        int round = 0;
        foreach (var (shape, h, w) in geometries)
        {
            const int batch = 2;
            var clamp = clamps[round++ % clamps.Length];
            float[] input = TestData.Floats(batch * shape.InChannels * h * w, h * 17 + w, spread: 1f, withSpecials: false);
            float[] weights = TestData.Floats(shape.OutChannels * shape.GroupK, h + 3 * w, spread: 1f, withSpecials: false);
            float[] bias = TestData.Floats(shape.OutChannels, w, spread: 1f, withSpecials: false);
            var conv = Conv2d.CreateFloat(shape, weights, bias);
            var (oh, ow) = shape.OutputSize(h, w);
            var output = new float[batch * shape.OutChannels * oh * ow];
            conv.Run(input, batch, h, w, output, clamp, 1);
            TestData.BitwiseEqual(InOrderFma(shape, batch, h, w, input, weights, bias, clamp), output);
        }
    }

    [Fact]
    public void Layers_large_enough_for_several_cache_blocks_and_threads_give_the_same_bits()
    {
        // 24 → 32 channels, 3×3 over 30×70 (stride 1) and 61×47 (stride 2): fewer channel panels than threads on AVX-512,
        // so the threads split the pixel tiles; 24 → 72 channels: enough panels, so they split those; and two depthwise
        // layers. One and two threads must give the same bits, close to the reference.
        foreach (var (shape, h, w) in new[]
                 {
                     (new Conv2dShape(24, 32, 3, 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 30, 70),
                     (new Conv2dShape(24, 72, 3, 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 17, 23),
                     (new Conv2dShape(24, 32, 3, 3, strideHeight: 2, strideWidth: 2, padTop: 1, padLeft: 0, padBottom: 0, padRight: 1), 61, 47),
                     (new Conv2dShape(48, 96, 3, 3, groups: 48, strideHeight: 2, strideWidth: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 61, 47),
                     (new Conv2dShape(128, 128, 3, 3, groups: 128, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 30, 70),
                 })
        {
            float[] input = TestData.Floats(shape.InChannels * h * w, h, spread: 1f, withSpecials: false);
            float[] weights = TestData.Floats(shape.OutChannels * shape.GroupK, w, spread: 1f, withSpecials: false);
            float[] bias = TestData.Floats(shape.OutChannels, 3, spread: 1f, withSpecials: false);
            var conv = Conv2d.CreateFloat(shape, weights, bias);
            var (oh, ow) = shape.OutputSize(h, w);
            var one = new float[shape.OutChannels * oh * ow];
            var two = new float[one.Length];
            conv.Run(input, 1, h, w, one, OutputClamp.Relu, 1);
            using var pool = new KernelThreadPool(1);
            conv.Run(input, 1, h, w, two, OutputClamp.Relu, 2, pool);
            TestData.BitwiseEqual(two, one);
            var (expected, magnitude) = Reference(shape, 1, h, w, (c, i) => input[c * h * w + i], weights.Select(v => (double)v).ToArray(), bias);
            for (int i = 0; i < one.Length; i++)
                Math.Abs(one[i] - Math.Max(0, expected[i])).Should().BeLessThanOrEqualTo((shape.GroupK + 2) * Math.ScaleB(1, -24) * magnitude[i] + 1e-30, $"{shape} element {i}");
        }
    }

    [Fact]
    public void Int8_convolution_is_exact_before_dequantization()
    {
        foreach (var (shape, h, w) in Geometries(12, 2))
        {
            const int batch = 2;
            byte[] input = TestData.Codes<byte>(batch * shape.InChannels * h * w, h * 7 + w);
            sbyte[] weights = TestData.Codes<sbyte>(shape.OutChannels * shape.GroupK, h + 3 * w);
            float[] scales = Enumerable.Range(0, shape.OutChannels).Select(i => 0.001f * (i + 1)).ToArray();
            int[] zeroPoints = Enumerable.Repeat(h % 3 - 1, shape.OutChannels).ToArray(); // one shared weight zero point: −1, 0 or 1
            float[] bias = TestData.Floats(shape.OutChannels, 9, spread: 1f, withSpecials: false);
            const int inputZeroPoint = 131;
            const float inputScale = 0.02f;
            var conv = Conv2d.CreateQuantized(shape, weights, scales, zeroPoints, bias);
            var (oh, ow) = shape.OutputSize(h, w);
            var output = new float[batch * shape.OutChannels * oh * ow];
            conv.Run(input, inputZeroPoint, inputScale, batch, h, w, output, OutputClamp.Relu, 1);
            ShouldBeExact(shape, batch, h, w, input, inputZeroPoint, inputScale, weights, scales, zeroPoints, bias, output);
        }
    }

    [Fact]
    public void Int8_layers_large_enough_for_several_cache_blocks_and_threads_are_exact()
    {
        // Panels of 16 or 8 positions read from the staged planes across several L2 blocks, 32 channels = 6 row tiles of 6
        // (or 8 of 4), weight zero points on and off: exact with one thread and with two, which give the same bits (the
        // 128-channel depthwise layer is large enough for two threads over its channels).
        foreach (var (shape, h, w, weightZeroPoint) in new[]
                 {
                     (new Conv2dShape(24, 32, 3, 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 30, 70, 0),
                     (new Conv2dShape(24, 32, 3, 3, strideHeight: 2, strideWidth: 2, padTop: 1, padLeft: 0, padBottom: 0, padRight: 1), 61, 47, 3),
                     (new Conv2dShape(64, 32, 1, 1, strideHeight: 2, strideWidth: 2), 28, 28, 0),
                     (new Conv2dShape(128, 128, 3, 3, groups: 128, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 30, 70, 2),
                 })
        {
            byte[] input = TestData.Codes<byte>(shape.InChannels * h * w, h * 5 + w);
            sbyte[] weights = TestData.Codes<sbyte>(shape.OutChannels * shape.GroupK, h + w);
            float[] scales = Enumerable.Range(0, shape.OutChannels).Select(i => 0.0005f * (i + 1)).ToArray();
            int[] zeroPoints = Enumerable.Repeat(weightZeroPoint, shape.OutChannels).ToArray();
            float[] bias = TestData.Floats(shape.OutChannels, 4, spread: 1f, withSpecials: false);
            const int inputZeroPoint = 17;
            const float inputScale = 0.03f;
            var conv = Conv2d.CreateQuantized(shape, weights, scales, zeroPoints, bias);
            var (oh, ow) = shape.OutputSize(h, w);
            var one = new float[shape.OutChannels * oh * ow];
            var two = new float[one.Length];
            conv.Run(input, inputZeroPoint, inputScale, 1, h, w, one, OutputClamp.Relu, 1);
            using var pool = new KernelThreadPool(1);
            conv.Run(input, inputZeroPoint, inputScale, 1, h, w, two, OutputClamp.Relu, 2, pool);
            TestData.BitwiseEqual(two, one);
            ShouldBeExact(shape, 1, h, w, input, inputZeroPoint, inputScale, weights, scales, zeroPoints, bias, one);
        }
    }

    [Fact]
    public void Int8_convolution_requantized_to_codes_equals_the_integer_qlinearconv()
    {
        // Every geometry (phase planes, packed patches, depthwise, the GEMM path of a large depthwise kernel), with and
        // without ReLU, full and narrow output ranges; then large layers with one thread and two (same bits).
        int trial = 0;
        foreach (var (shape, h, w) in Geometries(12, 5))
        {
            const int batch = 2;
            byte[] input = TestData.Codes<byte>(batch * shape.InChannels * h * w, h * 3 + w);
            sbyte[] weights = TestData.Codes<sbyte>(shape.OutChannels * shape.GroupK, h + 5 * w);
            float[] scales = Enumerable.Range(0, shape.OutChannels).Select(i => 0.001f * (i + 1)).ToArray();
            int[] zeroPoints = Enumerable.Repeat(w % 3 - 1, shape.OutChannels).ToArray();
            float[] bias = TestData.Floats(shape.OutChannels, 7, spread: 1f, withSpecials: false);
            var clamp = trial % 2 == 0 ? OutputClamp.Relu : OutputClamp.None;
            var encoding = trial % 3 == 2 ? QuantParams.FromRange(new QuantScheme(8, false, false, isNarrowRange: true), -2f, 3f) : QuantParams.FromRange(QuantScheme.UInt8Asymmetric, -3f, 4f);
            trial++;
            var conv = Conv2d.CreateQuantized(shape, weights, scales, zeroPoints, bias);
            var (oh, ow) = shape.OutputSize(h, w);
            var codes = new byte[batch * shape.OutChannels * oh * ow];
            conv.Run(input, 101, 0.02f, batch, h, w, codes, encoding, clamp, 1);
            CodesShouldBeExact(shape, batch, h, w, input, 101, 0.02f, weights, scales, zeroPoints, bias, encoding, clamp, codes);
        }

        // Ties: one weight scale for every channel and an output scale of twice the accumulator scale make the multiplier
        // exactly 0.5, so every odd sum lands halfway between two codes (rounded to even, in the vector steps and the
        // scalar rows shorter than a vector step alike).
        // Small weights and inputs near the zero point keep the codes inside [0, 255].
        var random = new Random(61);
        foreach (var (shape, h, w) in Geometries(0, 6))
        {
            byte[] input = [.. Enumerable.Range(0, shape.InChannels * h * w).Select(_ => (byte)random.Next(95, 108))];
            sbyte[] weights = [.. Enumerable.Range(0, shape.OutChannels * shape.GroupK).Select(_ => (sbyte)random.Next(-3, 4))];
            float[] scales = Enumerable.Repeat(0.001f, shape.OutChannels).ToArray();
            var encoding = QuantParams.ForType<byte>(2 * (0.02f * 0.001f), 128);
            var conv = Conv2d.CreateQuantized(shape, weights, scales, [0], []);
            var (oh, ow) = shape.OutputSize(h, w);
            var codes = new byte[shape.OutChannels * oh * ow];
            conv.Run(input, 101, 0.02f, 1, h, w, codes, encoding, OutputClamp.None, 1);
            CodesShouldBeExact(shape, 1, h, w, input, 101, 0.02f, weights, scales, new int[shape.OutChannels], new float[shape.OutChannels], encoding, OutputClamp.None, codes);
        }

        foreach (var (shape, h, w) in new[]
                 {
                     (new Conv2dShape(24, 32, 3, 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 30, 70),
                     (new Conv2dShape(128, 128, 3, 3, groups: 128, strideHeight: 2, strideWidth: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1), 30, 70),
                 })
        {
            byte[] input = TestData.Codes<byte>(shape.InChannels * h * w, h * 5 + w);
            sbyte[] weights = TestData.Codes<sbyte>(shape.OutChannels * shape.GroupK, h + w);
            float[] scales = Enumerable.Range(0, shape.OutChannels).Select(i => 0.0005f * (i + 1)).ToArray();
            float[] bias = TestData.Floats(shape.OutChannels, 4, spread: 1f, withSpecials: false);
            var encoding = QuantParams.FromRange(QuantScheme.UInt8Asymmetric, 0f, 6f);
            var conv = Conv2d.CreateQuantized(shape, weights, scales, [0], bias);
            var (oh, ow) = shape.OutputSize(h, w);
            var one = new byte[shape.OutChannels * oh * ow];
            var two = new byte[one.Length];
            conv.Run(input, 17, 0.03f, 1, h, w, one, encoding, OutputClamp.Relu, 1);
            using var pool = new KernelThreadPool(1);
            conv.Run(input, 17, 0.03f, 1, h, w, two, encoding, OutputClamp.Relu, 2, pool);
            two.Should().Equal(one);
            CodesShouldBeExact(shape, 1, h, w, input, 17, 0.03f, weights, scales, new int[shape.OutChannels], bias, encoding, OutputClamp.Relu, one);

            // Another input scale, output encoding and clamp on the same layer, then the first ones again: each call gets
            // its own output stage (the layer keeps the last one only while the arguments match).
            conv.Run(input, 17, 0.03f, 1, h, w, two, encoding, OutputClamp.None, 1);   // the clamp alone differs
            CodesShouldBeExact(shape, 1, h, w, input, 17, 0.03f, weights, scales, new int[shape.OutChannels], bias, encoding, OutputClamp.None, two);
            conv.Run(input, 17, 0.02f, 1, h, w, two, encoding, OutputClamp.None, 1);   // the input scale alone differs
            CodesShouldBeExact(shape, 1, h, w, input, 17, 0.02f, weights, scales, new int[shape.OutChannels], bias, encoding, OutputClamp.None, two);
            var other = QuantParams.FromRange(QuantScheme.UInt8Asymmetric, -2f, 3f);
            conv.Run(input, 17, 0.02f, 1, h, w, two, other, OutputClamp.None, 1);        // the output encoding alone differs
            CodesShouldBeExact(shape, 1, h, w, input, 17, 0.02f, weights, scales, new int[shape.OutChannels], bias, other, OutputClamp.None, two);
            conv.Run(input, 17, 0.03f, 1, h, w, two, encoding, OutputClamp.Relu, 1);
            two.Should().Equal(one);
        }

        var layer = Conv2d.CreateQuantized(new Conv2dShape(2, 4, 3, 3), new sbyte[4 * 18], [1f], [0], []);
        var act = () => layer.Run(new byte[50], 0, 1f, 1, 5, 5, new byte[36], QuantParams.ForType<sbyte>(1f, 0), OutputClamp.None, 1);
        act.Should().Throw<ArgumentException>().WithParameterName("outputEncoding");
        var act2 = () => layer.Run(new byte[50], 0, 1f, 1, 5, 5, new byte[35], QuantParams.ForType<byte>(1f, 0), OutputClamp.None, 1);
        act2.Should().Throw<ArgumentException>().WithParameterName("output");
        var fp32 = Conv2d.CreateFloat(new Conv2dShape(2, 4, 3, 3), new float[4 * 18], []);
        var act3 = () => fp32.Run(new byte[50], 0, 1f, 1, 5, 5, new byte[36], QuantParams.ForType<byte>(1f, 0), OutputClamp.None, 1);
        act3.Should().Throw<InvalidOperationException>();
    }

    /// <summary>
    /// Codes equal ONNX QLinearConv over the exact integer convolution: bias rounded half to even to an int32 at scale
    /// sx · sw, <c>round_half_to_even((float)(acc + bias) · (sx · sw / sy)) + zy</c>, saturated to the encoding's range
    /// and to the clamp's codes. Computed here from the double-precision integer reference and scalar float operations.
    /// </summary>
    private static void CodesShouldBeExact(Conv2dShape shape, int batch, int h, int w, byte[] input, int inputZeroPoint, float inputScale, sbyte[] weights,
        float[] scales, int[] zeroPoints, float[] bias, QuantParams encoding, OutputClamp clamp, byte[] codes)
    {
        var centred = new double[weights.Length];
        for (int i = 0; i < weights.Length; i++) centred[i] = weights[i] - zeroPoints[i / shape.GroupK];
        var (acc, _) = Reference(shape, batch, h, w, (c, i) => input[c * h * w + i] - inputZeroPoint, centred, new float[shape.OutChannels]);
        var (oh, ow) = shape.OutputSize(h, w);
        int positions = oh * ow;
        float low = encoding.QMin, high = encoding.QMax;
        if (clamp.Min > float.NegativeInfinity) low = Math.Max(low, MathF.Round(clamp.Min / encoding.Scale, MidpointRounding.ToEven) + encoding.ZeroPoint);
        for (int i = 0; i < codes.Length; i++)
        {
            int channel = i / positions % shape.OutChannels;
            float accumulatorScale = inputScale * scales[channel];
            int biasCode = (int)Math.Round(bias[channel] / (double)accumulatorScale, MidpointRounding.ToEven);
            float q = MathF.Round((float)((int)acc[i] + biasCode) * (accumulatorScale / encoding.Scale), MidpointRounding.ToEven) + encoding.ZeroPoint;
            ((int)codes[i]).Should().Be((int)Math.Clamp(q, low, high), $"{shape} element {i}");
        }
    }

    /// <summary>
    /// The int8 convolution's outputs equal the exact integer convolution (padding contributes (zp − zp) = 0, weights
    /// centred by their zero points) dequantized with the same float operations, clamped by ReLU.
    /// </summary>
    private static void ShouldBeExact(Conv2dShape shape, int batch, int h, int w, byte[] input, int inputZeroPoint, float inputScale, sbyte[] weights, float[] scales,
        int[] zeroPoints, float[] bias, float[] output)
    {
        var centred = new double[weights.Length];
        for (int i = 0; i < weights.Length; i++) centred[i] = weights[i] - zeroPoints[i / shape.GroupK];
        var (acc, _) = Reference(shape, batch, h, w, (c, i) => input[c * h * w + i] - inputZeroPoint, centred, new float[shape.OutChannels]);
        var (oh, ow) = shape.OutputSize(h, w);
        int positions = oh * ow;
        for (int i = 0; i < output.Length; i++)
        {
            int channel = i / positions % shape.OutChannels;
            float expected = Math.Clamp((int)acc[i] * (inputScale * scales[channel]) + bias[channel], 0f, float.PositiveInfinity);
            BitConverter.SingleToInt32Bits(output[i]).Should().Be(BitConverter.SingleToInt32Bits(expected), $"{shape} element {i}");
        }
    }

    [Fact]
    public void Bad_geometry_and_buffers_are_rejected()
    {
        var act = () => new Conv2dShape(3, 4, 3, 3, groups: 2);
        act.Should().Throw<ArgumentException>().WithParameterName("inChannels");
        var act2 = () => new Conv2dShape(2, 4, 3, 3, strideHeight: 0);
        act2.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("strideHeight");
        var shape = new Conv2dShape(2, 4, 3, 3);
        var act3 = () => shape.OutputSize(2, 5);
        act3.Should().Throw<ArgumentException>().WithParameterName("height");
        var act4 = () => Conv2d.CreateFloat(shape, new float[10], []);
        act4.Should().Throw<ArgumentException>().WithParameterName("weights");
        var conv = Conv2d.CreateFloat(shape, new float[4 * 18], []);
        var act5 = () => conv.Run(new float[2 * 5 * 5 - 1], 1, 5, 5, new float[4 * 9], OutputClamp.None, 1);
        act5.Should().Throw<ArgumentException>().WithParameterName("input");
        var act6 = () => conv.Run(new float[2 * 5 * 5], 1, 5, 5, new float[4 * 9 + 1], OutputClamp.None, 1);
        act6.Should().Throw<ArgumentException>().WithParameterName("output");
        var act7 = () => conv.Run(new byte[50], 0, 1f, 1, 5, 5, new float[36], OutputClamp.None, 1);
        act7.Should().Throw<InvalidOperationException>();
        var act8 = () => Conv2d.CreateQuantized(shape, new sbyte[4 * 18], [1f], [0, 1, 0, 0], []);
        act8.Should().Throw<ArgumentException>().WithParameterName("zeroPoints");
    }

    /// <summary>Direct convolution in float: one FMA per tap in (c, ky, kx) order (0 for padding), + bias, clamped.</summary>
    private static float[] InOrderFma(Conv2dShape s, int batch, int h, int w, float[] input, float[] weights, float[] bias, OutputClamp clamp)
    {
        var (oh, ow) = s.OutputSize(h, w);
        int cg = s.InChannels / s.Groups, coutG = s.OutChannels / s.Groups;
        var output = new float[batch * s.OutChannels * oh * ow];
        for (int b = 0; b < batch; b++)
            for (int co = 0; co < s.OutChannels; co++)
                for (int y = 0; y < oh; y++)
                    for (int x = 0; x < ow; x++)
                    {
                        int g = co / coutG;
                        float acc = 0f;
                        for (int c = 0; c < cg; c++)
                            for (int ky = 0; ky < s.KernelHeight; ky++)
                                for (int kx = 0; kx < s.KernelWidth; kx++)
                                {
                                    int iy = y * s.StrideHeight - s.PadTop + ky * s.DilationHeight, ix = x * s.StrideWidth - s.PadLeft + kx * s.DilationWidth;
                                    float v = iy < 0 || iy >= h || ix < 0 || ix >= w ? 0f : input[((b * s.InChannels + g * cg + c) * h + iy) * w + ix];
                                    acc = MathF.FusedMultiplyAdd(weights[((co * cg + c) * s.KernelHeight + ky) * s.KernelWidth + kx], v, acc);
                                }
                        float r = acc + bias[co];
                        r = clamp.Min > r ? clamp.Min : r;
                        output[((b * s.OutChannels + co) * oh + y) * ow + x] = clamp.Max < r ? clamp.Max : r;
                    }
        return output;
    }

    /// <summary>Direct convolution in double: returns the outputs and Σ|x·w| per output (for error bounds).</summary>
    private static (double[] Output, double[] Magnitude) Reference(Conv2dShape s, int batch, int h, int w, Func<int, int, double> input, double[] weights, float[] bias)
    {
        var (oh, ow) = s.OutputSize(h, w);
        int cg = s.InChannels / s.Groups, coutG = s.OutChannels / s.Groups;
        var output = new double[batch * s.OutChannels * oh * ow];
        var magnitude = new double[output.Length];
        for (int b = 0; b < batch; b++)
            for (int co = 0; co < s.OutChannels; co++)
                for (int y = 0; y < oh; y++)
                    for (int x = 0; x < ow; x++)
                    {
                        int g = co / coutG;
                        double sum = bias[co], mag = Math.Abs(bias[co]);
                        for (int c = 0; c < cg; c++)
                            for (int ky = 0; ky < s.KernelHeight; ky++)
                                for (int kx = 0; kx < s.KernelWidth; kx++)
                                {
                                    int iy = y * s.StrideHeight - s.PadTop + ky * s.DilationHeight, ix = x * s.StrideWidth - s.PadLeft + kx * s.DilationWidth;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    double v = input(b * s.InChannels + g * cg + c, iy * w + ix) * weights[((co * cg + c) * s.KernelHeight + ky) * s.KernelWidth + kx];
                                    sum += v;
                                    mag += Math.Abs(v);
                                }
                        int o = ((b * s.OutChannels + co) * oh + y) * ow + x;
                        output[o] = sum;
                        magnitude[o] = mag;
                    }
        return (output, magnitude);
    }
}
