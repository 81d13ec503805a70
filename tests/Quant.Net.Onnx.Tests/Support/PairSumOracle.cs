using Quant.Net.Onnx.Protobuf;

namespace Quant.Net.Onnx.Tests.Support;

/// <summary>
/// A direct, loop-by-loop model of ONNX Runtime's x86 AVX2 u8s8 kernels for a single Conv/Gemm/MatMul QDQ model: raw
/// uint8 activation codes times int8 weight codes, added in pairs along the kernel's K order ((row, column, input
/// channel) for Conv, padded with the zero point) into a saturating int16, pairs summed in int32, zero point corrected,
/// bias codes added, rescaled, optional ReLU, output fake-quantized. The independent oracle for the graph rewrite.
/// </summary>
internal static class PairSumOracle
{
    public static float[] Run(QuantizationResult result, InputTensor x, bool saturate, bool relu)
    {
        var graph = result.PreparedModel.Graph;
        var node = graph.Node.Single(n => n.OpType is "Conv" or "Gemm" or "MatMul");
        var input = result.Encodings.Single(e => e.Tensor.Name == node.Input[0]).Encoding!;
        var weight = result.Encodings.Single(e => e.Tensor.Name == node.Input[1]).Encoding!;
        var model = result.Model.Proto.Graph;
        int[] w = [.. TensorData.ToFloats(model.Initializer.Single(i => i.Name == node.Input[1] + "_quantized")).Select(v => (int)v)];
        var wShape = TensorData.Shape(model.Initializer.Single(i => i.Name == node.Input[1] + "_quantized"));
        var biasInit = node.Input.Count > 2 ? model.Initializer.SingleOrDefault(i => i.Name == node.Input[2] + "_quantized") : null;
        int[]? bias = biasInit is null ? null : [.. TensorData.ToFloats(biasInit).Select(v => (int)v)];
        var narrow = new short[x.Floats().Length];
        QuantOps.Quantize<short>(x.Floats(), narrow, input[0]);
        var codes = narrow.Select(v => (int)v).ToArray();
        int zp = input.ZeroPoints[0];
        if (input.Scheme.IsSigned)
        {
            // ONNX Runtime on x86 shifts int8 activations to uint8 (codes and zero point + 128).
            for (int i = 0; i < codes.Length; i++)
            {
                codes[i] += 128;
            }

            zp += 128;
        }

        float[] y = node.OpType == "Conv" ? Conv(node, codes, [.. x.Shape], zp, w, wShape, bias, input.Scales[0], weight, saturate)
            : Gemm(node, codes, [.. x.Shape], zp, w, wShape, bias, input.Scales[0], weight, saturate);
        if (relu)
        {
            for (int i = 0; i < y.Length; i++)
            {
                y[i] = Math.Max(y[i], 0);
            }
        }

        var output = result.Encodings.Single(e => e.Tensor.Name == result.Model.Outputs[0].Name).Encoding!;
        QuantOps.FakeQuantize(y, y, output[0]);
        return y;
    }

    private static long PairSum(IReadOnlyList<int> a, IReadOnlyList<int> b, bool saturate)
    {
        long sum = 0;
        for (int i = 0; i < a.Count; i += 2)
        {
            int pair = a[i] * b[i] + (i + 1 < a.Count ? a[i + 1] * b[i + 1] : 0);
            sum += saturate ? Math.Clamp(pair, short.MinValue, short.MaxValue) : pair;
        }

        return sum;
    }

    private static float[] Gemm(NodeProto node, int[] a, int[] shape, int zp, int[] w, int[] wShape, int[]? bias, float sx, QuantEncoding weight, bool saturate)
    {
        bool transB = node.OpType == "Gemm" && OpCatalog.Attribute(node, "transB", 0L) != 0;
        int k = shape[^1], rows = a.Length / k, n = transB ? wShape[0] : wShape[1];
        var y = new float[rows * n];
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < n; j++)
            {
                var col = Enumerable.Range(0, k).Select(i => transB ? w[j * k + i] : w[i * n + j]).ToArray();
                long acc = PairSum(a.AsSpan(r * k, k).ToArray(), col, saturate) - (long)zp * col.Sum() + (bias?[j] ?? 0);
                y[r * n + j] = (float)acc * sx * weight.Scales[weight.Count == 1 ? 0 : j];
            }
        }

        return y;
    }

    private static float[] Conv(NodeProto node, int[] x, int[] shape, int zp, int[] w, int[] wShape, int[]? bias, float sx, QuantEncoding weight, bool saturate)
    {
        int h = shape[2], wd = shape[3];
        int o = wShape[0], icg = wShape[1], kh = wShape[2], kw = wShape[3];
        int groups = (int)OpCatalog.Attribute(node, "group", 1L), ocg = o / groups;
        long[] pads = node.Attribute.FirstOrDefault(a => a.Name == "pads")?.Ints.ToArray() ?? [0, 0, 0, 0];
        long[] strides = node.Attribute.FirstOrDefault(a => a.Name == "strides")?.Ints.ToArray() ?? [1, 1];
        int oh = (int)((h + pads[0] + pads[2] - kh) / strides[0] + 1), ow = (int)((wd + pads[1] + pads[3] - kw) / strides[1] + 1);
        var y = new float[o * oh * ow];
        for (int oc = 0; oc < o; oc++)
        {
            int g = oc / ocg;
            var col = new List<int>();
            var row = new List<int>();
            for (int p = 0; p < oh; p++)
            {
                for (int q = 0; q < ow; q++)
                {
                    col.Clear();
                    row.Clear();
                    for (int r = 0; r < kh; r++)
                    {
                        for (int s = 0; s < kw; s++)
                        {
                            for (int ic = 0; ic < icg; ic++)
                            {
                                int iy = (int)(p * strides[0] - pads[0]) + r, ix = (int)(q * strides[1] - pads[1]) + s;
                                bool inside = iy >= 0 && iy < h && ix >= 0 && ix < wd;
                                row.Add(inside ? x[((g * icg + ic) * h + iy) * wd + ix] : zp);
                                col.Add(w[((oc * icg + ic) * kh + r) * kw + s]);
                            }
                        }
                    }

                    long acc = PairSum(row, col, saturate) - (long)zp * col.Sum() + (bias?[oc] ?? 0);
                    y[(oc * oh + p) * ow + q] = (float)acc * sx * weight.Scales[weight.Count == 1 ? 0 : oc];
                }
            }
        }

        return y;
    }
}
