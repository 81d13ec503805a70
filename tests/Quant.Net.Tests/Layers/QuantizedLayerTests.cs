using FluentAssertions;
using Quant.Net.Kernels;
using Quant.Net.Layers;
using Quant.Net.Tests.Observers;

namespace Quant.Net.Tests.Layers;

public sealed class QuantizedLayerTests
{
    [Fact]
    public void Linear_tracks_fp32_and_equals_its_own_fake_quantized_simulation()
    {
        const int batch = 5, inFeatures = 96, outFeatures = 40;
        float[] x = Distributions.Gaussian(batch * inFeatures, 1);
        float[] w = Distributions.Laplace(outFeatures * inFeatures, 2, b: 0.05);
        float[] bias = Distributions.Gaussian(outFeatures, 3, sigma: 0.1);
        var layer = new QuantizedLinear(w, inFeatures, outFeatures, bias);
        var y = new float[batch * outFeatures];
        layer.Forward(x, y, OutputClamp.None, 1);

        // FP32 reference
        var fp32 = new float[batch * outFeatures];
        Fp32Gemm.Multiply(x, batch, PackedFloatWeights.Pack(w, inFeatures, outFeatures, WeightLayout.NByK), bias, fp32, OutputClamp.None, 1);
        ErrorMetrics.SqnrDecibels(fp32, y).Should().BeGreaterThan(35, "8-bit per-channel weights and uint8 activations");

        // Simulation: fake-quantize input (its own min/max, uint8) and weights (the layer's encoding), multiply in double.
        var p = QuantParams.FromRange(QuantScheme.UInt8Asymmetric, x.Min(), x.Max());
        var xq = new float[x.Length];
        QuantOps.FakeQuantize(x, xq, p);
        var wq = new float[w.Length];
        QuantOps.FakeQuantize(w, [outFeatures, inFeatures], layer.WeightEncoding, wq);
        for (int i = 0; i < batch; i++)
            for (int o = 0; o < outFeatures; o++)
            {
                double sum = bias[o], magnitude = Math.Abs(bias[o]);
                for (int k = 0; k < inFeatures; k++)
                {
                    sum += (double)xq[i * inFeatures + k] * wq[o * inFeatures + k];
                    magnitude += Math.Abs((double)xq[i * inFeatures + k] * wq[o * inFeatures + k]);
                }
                // The integer product is exact; only the final scale multiply and bias add round.
                y[i * outFeatures + o].Should().BeApproximately((float)sum, (float)(magnitude * 4e-7 + 1e-6), $"[{i},{o}]");
            }
    }

    [Fact]
    public void Linear_requantized_output_agrees_with_quantizing_its_float_output()
    {
        const int batch = 4, inFeatures = 64, outFeatures = 33;
        float[] x = Distributions.Relu(batch * inFeatures, 11);
        float[] w = Distributions.Gaussian(outFeatures * inFeatures, 12, sigma: 0.1);
        float[] bias = Distributions.Gaussian(outFeatures, 13, sigma: 0.2);
        var layer = new QuantizedLinear(w, inFeatures, outFeatures, bias);
        var y = new float[batch * outFeatures];
        layer.Forward(x, y, OutputClamp.None, 1);
        var outputEncoding = QuantParams.FromRange(QuantScheme.UInt8Asymmetric, y.Min(), y.Max());
        var expected = new byte[y.Length];
        QuantOps.Quantize(y, expected, outputEncoding);
        var actual = new byte[y.Length];
        layer.Forward(x, actual, outputEncoding, 1);
        int same = 0;
        for (int i = 0; i < y.Length; i++)
        {
            Math.Abs(actual[i] - expected[i]).Should().BeLessThanOrEqualTo(1, $"element {i}: the int32 bias rounds by at most half an accumulator step");
            if (actual[i] == expected[i]) same++;
        }
        same.Should().BeGreaterThan(y.Length * 9 / 10);
        var act = () => layer.Forward(x, actual, QuantParams.ForType<sbyte>(1f, 0), 1);
        act.Should().Throw<ArgumentException>().WithParameterName("outputEncoding");
    }

    [Fact]
    public void A_fixed_input_encoding_clips_like_quantize_linear()
    {
        float[] w = [1f, -1f, 0.5f, 0.25f];
        var encoding = QuantParams.FromRange(QuantScheme.UInt8Asymmetric, 0f, 2f);
        var layer = new QuantizedLinear(w, 2, 2, [], QuantScheme.Int8SymmetricPerTensor, encoding);
        var y = new float[2];
        layer.Forward([10f, 1f], y, OutputClamp.None, 1); // 10 saturates to 2
        y[0].Should().BeApproximately(2f * 1f + 1f * -1f, 0.02f);
        y[1].Should().BeApproximately(2f * 0.5f + 1f * 0.25f, 0.02f);
        layer.InputEncoding.Should().Be(encoding);
        layer.WeightBytes.Should().Be(4);
    }

    [Fact]
    public void Conv2d_tracks_the_fp32_convolution()
    {
        var shape = new Conv2dShape(8, 16, 3, 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1);
        float[] input = Distributions.Relu(2 * 8 * 12 * 10, 4);
        float[] weights = Distributions.Gaussian(16 * shape.GroupK, 5, sigma: 0.1);
        float[] bias = Distributions.Gaussian(16, 6, sigma: 0.1);
        var quantized = new QuantizedConv2d(shape, weights, bias);
        var fp32 = Conv2d.CreateFloat(shape, weights, bias);
        var (oh, ow) = shape.OutputSize(12, 10);
        var y = new float[2 * 16 * oh * ow];
        var reference = new float[y.Length];
        quantized.Forward(input, 2, 12, 10, y, OutputClamp.Relu, 1);
        fp32.Run(input, 2, 12, 10, reference, OutputClamp.Relu, 1);
        ErrorMetrics.SqnrDecibels(reference, y).Should().BeGreaterThan(30);
        quantized.WeightEncoding.Count.Should().Be(16);
    }

    [Fact]
    public void Conv2d_takes_and_writes_uint8_codes_for_chained_int8_layers()
    {
        // A stride-2 3×3 layer then a 1×1 layer, chained through uint8 codes in the second layer's input encoding.
        var shape = new Conv2dShape(8, 16, 3, 3, strideHeight: 2, strideWidth: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1);
        var next = new Conv2dShape(16, 4, 1, 1);
        float[] input = Distributions.Relu(2 * 8 * 13 * 11, 21);
        var inputEncoding = QuantParams.FromRange(QuantScheme.UInt8Asymmetric, 0f, input.Max());
        var first = new QuantizedConv2d(shape, Distributions.Gaussian(16 * shape.GroupK, 22, sigma: 0.1), Distributions.Gaussian(16, 23, sigma: 0.1), inputEncoding: inputEncoding);
        var (oh, ow) = shape.OutputSize(13, 11);
        var floats = new float[2 * 16 * oh * ow];
        first.Forward(input, 2, 13, 11, floats, OutputClamp.Relu, 1);

        // Codes in: the same floats as the float input they quantize from (the dequantized codes quantize back to themselves).
        var inputCodes = new byte[input.Length];
        QuantOps.Quantize(input, inputCodes, inputEncoding);
        var fromCodes = new float[floats.Length];
        first.Forward(inputCodes, 2, 13, 11, fromCodes, OutputClamp.Relu, 1);
        TestData.BitwiseEqual(floats, fromCodes);

        // Codes out: within one step of quantizing the float output (the int32 bias rounds), mostly equal; the same codes
        // from float input and from its codes.
        var middle = QuantParams.FromRange(QuantScheme.UInt8Asymmetric, 0f, floats.Max());
        var codes = new byte[floats.Length];
        first.Forward(inputCodes, 2, 13, 11, codes, middle, OutputClamp.Relu, 1);
        var expected = new byte[floats.Length];
        QuantOps.Quantize(floats, expected, middle);
        int same = 0;
        for (int i = 0; i < codes.Length; i++)
        {
            Math.Abs(codes[i] - expected[i]).Should().BeLessThanOrEqualTo(1, $"element {i}");
            if (codes[i] == expected[i]) same++;
        }
        same.Should().BeGreaterThan(codes.Length * 9 / 10);
        var fromFloats = new byte[codes.Length];
        first.Forward(input, 2, 13, 11, fromFloats, middle, OutputClamp.Relu, 1);
        fromFloats.Should().Equal(codes);

        // The next layer reads the codes directly; its float output tracks the all-float chain.
        var second = new QuantizedConv2d(next, Distributions.Gaussian(4 * 16, 24, sigma: 0.2), [], inputEncoding: middle);
        var chained = new float[2 * 4 * oh * ow];
        second.Forward(codes, 2, oh, ow, chained, OutputClamp.None, 1);
        var viaFloats = new float[chained.Length];
        second.Forward(floats, 2, oh, ow, viaFloats, OutputClamp.None, 1);
        ErrorMetrics.SqnrDecibels(viaFloats, chained).Should().BeGreaterThan(30);

        var dynamic = new QuantizedConv2d(next, new float[4 * 16], []);
        var act = () => dynamic.Forward(codes, 2, oh, ow, chained, OutputClamp.None, 1);
        act.Should().Throw<InvalidOperationException>().WithMessage("*InputEncoding*");
        var act2 = () => second.Forward(codes, 2, oh, ow, new byte[chained.Length], QuantParams.ForType<sbyte>(1f, 0));
        act2.Should().Throw<ArgumentException>().WithParameterName("outputEncoding");
    }

    [Fact]
    public void Layers_reject_schemes_they_cannot_run()
    {
        var act = () => new QuantizedLinear(new float[4], 2, 2, [], new QuantScheme(4, true, true));
        act.Should().Throw<ArgumentException>().WithParameterName("weightScheme");
        var act2 = () => new QuantizedLinear(new float[4], 2, 2, [], QuantScheme.Int8SymmetricPerChannel(axis: 1));
        act2.Should().Throw<ArgumentException>().WithParameterName("weightScheme");
        var act3 = () => new QuantizedLinear(new float[4], 2, 2, [], null, QuantParams.ForType<sbyte>(1f, 0));
        act3.Should().Throw<ArgumentException>().WithParameterName("inputEncoding");
        var layer = new QuantizedLinear(new float[4], 2, 2, []);
        var act4 = () => layer.Forward(new float[3], new float[2], OutputClamp.None, 1);
        act4.Should().Throw<ArgumentException>().WithParameterName("input");
    }
}
