using FluentAssertions;
using Quant.Net.Kernels;
using Quant.Net.Onnx.Tests.Support;

namespace Quant.Net.Onnx.Tests.Onnx;

public sealed class WeightOnlyTests
{
    private static BlockQuantizedWeights RandomWeights(Random random, int n, int k, int bits, int blockSize, bool symmetric)
    {
        var w = Enumerable.Range(0, n * k).Select(_ => (float)((random.NextDouble() * 2) - 1) * 0.05f).ToArray();
        return BlockQuantizedWeights.Quantize(w, k, n, WeightLayout.NByK, new BlockQuantizationOptions { Bits = bits, BlockSize = blockSize, Symmetric = symmetric });
    }

    [Fact]
    public void MatMulNBits_layout_packs_codes_low_nibble_first_with_row_major_blocks()
    {
        var random = new Random(4);
        int n = 3, k = 40;
        var w = RandomWeights(random, n, k, 4, 16, symmetric: false);
        var (b, scales, zeroPoints) = MatMulNBitsLayout.From(w);
        b.Should().HaveCount(n * 3 * 8);
        scales.Should().HaveCount(n * 3);
        zeroPoints.Should().HaveCount(n * 2);
        for (int row = 0; row < n; row++)
        {
            for (int i = 0; i < 48; i++)
            {
                int code = (b[(row * 24) + (i / 2)] >> ((i % 2) * 4)) & 0xF;
                code.Should().Be(w.GetCode(row, i));
            }

            for (int blk = 0; blk < 3; blk++)
            {
                scales[(row * 3) + blk].Should().Be(w.GetScale(row, blk));
                ((zeroPoints![(row * 2) + (blk / 2)] >> ((blk % 2) * 4)) & 0xF).Should().Be(w.GetZeroPoint(row, blk));
            }
        }

        MatMulNBitsLayout.From(RandomWeights(random, n, k, 4, 16, symmetric: true)).ZeroPoints.Should().BeNull();
    }

    private static OnnxModel Linear(int k, int n, int seed)
    {
        var g = new GraphBuilder(seed: seed);
        string x = g.Input("x", 0, k);
        g.Output(g.Node("MatMul", [x, g.Random("w", 0.2f, k, n)], "y", name: "proj"), 0, n);
        return g.Build();
    }

    [Theory]
    [InlineData(4, 32, true, 100)]
    [InlineData(4, 16, false, 75)]
    [InlineData(4, 128, false, 300)]
    [InlineData(8, 32, true, 70)]
    [InlineData(8, 64, false, 129)]
    public void MatMulNBits_written_by_us_runs_in_onnx_runtime_and_matches_our_kernel(int bits, int blockSize, bool symmetric, int k)
    {
        int n = 24, m = 3;
        var model = Linear(k, n, bits + blockSize + k);
        var options = new WeightOnlyOptions { Blocks = new BlockQuantizationOptions { Bits = bits, BlockSize = blockSize, Symmetric = symmetric } };
        var result = WeightOnlyQuantizer.Quantize(model, options);
        result.Model.Nodes.Should().ContainSingle(nd => nd.OpType == "MatMulNBits").Which.Name.Should().Be("proj");
        result.Model.InitializerBytes.Should().BeLessThan(model.InitializerBytes / (bits == 4 ? 4 : 2));
        var weights = result.Weights["proj"];

        foreach (var (level, mode, tolerance) in new[] { (0, BlockGemmMode.FloatActivations, 1e-5), (4, BlockGemmMode.Int8Activations, 1e-3) })
        {
            var written = level == 0 ? result : WeightOnlyQuantizer.Quantize(model, options with { AccuracyLevel = level });
            using var ort = new ModelRunner(written.Model);
            var x = Samples.For("x", [m, k], 1, seed: 5).GetSamples().First()["x"];
            var actual = ort.Run(new Dictionary<string, InputTensor> { ["x"] = x })["y"].Data;
            var ours = new float[m * n];
            BlockGemm.Multiply(x.Floats(), m, weights, [], ours, mode);
            double scale = Math.Sqrt(ours.Average(v => (double)v * v));
            for (int i = 0; i < ours.Length; i++)
            {
                actual[i].Should().BeApproximately(ours[i], (float)(tolerance * scale + 1e-6), $"accuracy level {level}, element {i}");
            }
        }
    }

    [Theory]
    [InlineData(4, true)]
    [InlineData(4, false)]
    [InlineData(8, false)]
    public void The_opset_21_dequantize_linear_form_runs_and_matches_the_matmulnbits_form(int bits, bool symmetric)
    {
        int k = 90, n = 16;
        var model = Linear(k, n, 3);
        var blocks = new BlockQuantizationOptions { Bits = bits, BlockSize = 32, Symmetric = symmetric };
        // ORT fuses DequantizeLinear -> MatMul into MatMulNBits with its default accuracy level for that fusion (4).
        var nbits = WeightOnlyQuantizer.Quantize(model, new WeightOnlyOptions { Blocks = blocks, AccuracyLevel = 4 });
        var dq = WeightOnlyQuantizer.Quantize(model, new WeightOnlyOptions { Blocks = blocks, Format = WeightOnlyFormat.DequantizeLinear });
        dq.Model.OpsetVersion.Should().Be(21);
        dq.Model.Nodes.Should().Contain(nd => nd.OpType == "DequantizeLinear").And.Contain(nd => nd.OpType == "MatMul");
        using var a = new ModelRunner(nbits.Model);
        using var b = new ModelRunner(dq.Model);
        var sample = Samples.For("x", [2, k], 1).GetSamples().First();
        var ya = a.Run(sample)["y"].Data;
        var yb = b.Run(sample)["y"].Data;
        for (int i = 0; i < ya.Length; i++)
        {
            yb[i].Should().BeApproximately(ya[i], 1e-4f + (1e-4f * Math.Abs(ya[i])));
        }
    }

    [Fact]
    public void Bad_options_and_excluded_nodes_are_rejected()
    {
        var model = Linear(32, 8, 1);
        FluentActions.Invoking(() => WeightOnlyQuantizer.Quantize(model, new WeightOnlyOptions { Blocks = new BlockQuantizationOptions { BlockSize = 48 } }))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("BlockSize");
        FluentActions.Invoking(() => WeightOnlyQuantizer.Quantize(model, new WeightOnlyOptions { ExcludedNodes = ["nope"] }))
            .Should().Throw<ArgumentException>().WithMessage("*'nope'*");
        FluentActions.Invoking(() => WeightOnlyQuantizer.Quantize(model, new WeightOnlyOptions { AccuracyLevel = 5 }))
            .Should().Throw<ArgumentOutOfRangeException>();
        WeightOnlyQuantizer.Quantize(model, new WeightOnlyOptions { ExcludedNodes = ["proj"] }).QuantizedNodes.Should().BeEmpty();

        var g = new GraphBuilder();
        g.Output(g.Node("MatMul", [g.Input("x", 1, 4), g.Initializer("w", [1, float.NaN, 0, 1, 2, 3, 4, 5], 4, 2)], "y"));
        FluentActions.Invoking(() => WeightOnlyQuantizer.Quantize(g.Build())).Should().Throw<ArgumentException>().WithMessage("*NaN*");
    }
}
