using System.Text;

namespace Quant.Net.Benchmarks;

/// <summary>
/// Builds the one-node ONNX models the baselines run in ONNX Runtime, encoding the few protobuf fields they need by
/// hand (field numbers from onnx.proto). The ONNX adapter project will replace this with its full model writer.
/// </summary>
internal static class OnnxModelBytes
{
    public const int Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5;

    /// <summary>y = QuantizeLinear(x, scale, zeroPoint) over a 1-D tensor of <paramref name="length"/> elements.</summary>
    public static byte[] QuantizeLinear(int length, float scale, int zeroPoint, int quantizedType) =>
        OneNode("QuantizeLinear", length, Float, quantizedType, scale, zeroPoint, quantizedType);

    /// <summary>y = DequantizeLinear(x, scale, zeroPoint).</summary>
    public static byte[] DequantizeLinear(int length, float scale, int zeroPoint, int quantizedType) =>
        OneNode("DequantizeLinear", length, quantizedType, Float, scale, zeroPoint, quantizedType);

    /// <summary>y = MatMulInteger(x, B, x_zero_point, B_zero_point) with uint8 x [M, K] and an int8 initializer B [K, N].</summary>
    public static byte[] MatMulInteger(int m, int k, int n, ReadOnlySpan<sbyte> b, byte aZeroPoint)
    {
        var node = new Proto().Str(1, "x").Str(1, "B").Str(1, "x_zero_point").Str(1, "B_zero_point").Str(2, "y").Str(3, "mmi").Str(4, "MatMulInteger");
        var graph = new Proto()
            .Msg(1, node).Str(2, "matmulinteger")
            .Msg(5, Tensor("B", Int8, [k, n], System.Runtime.InteropServices.MemoryMarshal.AsBytes(b)))
            .Msg(5, Tensor("x_zero_point", UInt8, [], [aZeroPoint]))
            .Msg(5, Tensor("B_zero_point", Int8, [], [0]))
            .Msg(11, ValueInfo("x", UInt8, [m, k]))
            .Msg(12, ValueInfo("y", Int32, [m, n]));
        return Model(graph);
    }

    /// <summary>y = MatMul(x, B) with float x [M, K] and a float initializer B [K, N].</summary>
    public static byte[] MatMul(int m, int k, int n, ReadOnlySpan<float> b)
    {
        var node = new Proto().Str(1, "x").Str(1, "B").Str(2, "y").Str(3, "mm").Str(4, "MatMul");
        var graph = new Proto()
            .Msg(1, node).Str(2, "matmul")
            .Msg(5, Tensor("B", Float, [k, n], System.Runtime.InteropServices.MemoryMarshal.AsBytes(b)))
            .Msg(11, ValueInfo("x", Float, [m, k]))
            .Msg(12, ValueInfo("y", Float, [m, n]));
        return Model(graph);
    }

    public const int Int32 = 6;

    /// <summary>y = Conv(x, W, B), NCHW, square kernel, symmetric padding, <paramref name="stride"/> and <paramref name="group"/> (default 1).</summary>
    public static byte[] Conv(int channels, int outChannels, int height, int width, int kernel, int pad, ReadOnlySpan<float> w, ReadOnlySpan<float> bias,
        int stride = 1, int group = 1)
    {
        int oh = ((height + 2 * pad - kernel) / stride) + 1, ow = ((width + 2 * pad - kernel) / stride) + 1;
        var node = new Proto().Str(1, "x").Str(1, "W").Str(1, "B").Str(2, "y").Str(3, "conv").Str(4, "Conv")
            .Msg(5, Ints("kernel_shape", kernel, kernel)).Msg(5, Ints("pads", pad, pad, pad, pad)).Msg(5, Ints("strides", stride, stride)).Msg(5, Int("group", group));
        var graph = new Proto().Msg(1, node).Str(2, "conv")
            .Msg(5, Tensor("W", Float, [outChannels, channels / group, kernel, kernel], System.Runtime.InteropServices.MemoryMarshal.AsBytes(w)))
            .Msg(5, Tensor("B", Float, [outChannels], System.Runtime.InteropServices.MemoryMarshal.AsBytes(bias)))
            .Msg(11, ValueInfo("x", Float, [1, channels, height, width]))
            .Msg(12, ValueInfo("y", Float, [1, outChannels, oh, ow]));
        return Model(graph);
    }

    /// <summary>y = QLinearConv(x u8, W s8 per-channel, B int32) → u8, NCHW, square kernel, symmetric padding, <paramref name="stride"/> and <paramref name="group"/>.</summary>
    public static byte[] QLinearConv(int channels, int outChannels, int height, int width, int kernel, int pad, float xScale, byte xZeroPoint,
        ReadOnlySpan<sbyte> w, ReadOnlySpan<float> wScales, ReadOnlySpan<int> bias, float yScale, byte yZeroPoint, int stride = 1, int group = 1)
    {
        int oh = ((height + 2 * pad - kernel) / stride) + 1, ow = ((width + 2 * pad - kernel) / stride) + 1;
        var node = new Proto().Str(1, "x").Str(1, "x_scale").Str(1, "x_zero_point").Str(1, "W").Str(1, "w_scale").Str(1, "w_zero_point")
            .Str(1, "y_scale").Str(1, "y_zero_point").Str(1, "B").Str(2, "y").Str(3, "qconv").Str(4, "QLinearConv")
            .Msg(5, Ints("kernel_shape", kernel, kernel)).Msg(5, Ints("pads", pad, pad, pad, pad)).Msg(5, Ints("strides", stride, stride)).Msg(5, Int("group", group));
        var graph = new Proto().Msg(1, node).Str(2, "qlinearconv")
            .Msg(5, Tensor("x_scale", Float, [], BitConverter.GetBytes(xScale)))
            .Msg(5, Tensor("x_zero_point", UInt8, [], [xZeroPoint]))
            .Msg(5, Tensor("W", Int8, [outChannels, channels / group, kernel, kernel], System.Runtime.InteropServices.MemoryMarshal.AsBytes(w)))
            .Msg(5, Tensor("w_scale", Float, [outChannels], System.Runtime.InteropServices.MemoryMarshal.AsBytes(wScales)))
            .Msg(5, Tensor("w_zero_point", Int8, [outChannels], new byte[outChannels]))
            .Msg(5, Tensor("y_scale", Float, [], BitConverter.GetBytes(yScale)))
            .Msg(5, Tensor("y_zero_point", UInt8, [], [yZeroPoint]))
            .Msg(5, Tensor("B", Int32, [outChannels], System.Runtime.InteropServices.MemoryMarshal.AsBytes(bias)))
            .Msg(11, ValueInfo("x", UInt8, [1, channels, height, width]))
            .Msg(12, ValueInfo("y", UInt8, [1, outChannels, oh, ow]));
        return Model(graph);
    }

    private static Proto Int(string name, int value) => new Proto().Str(1, name).Varint(3, value).Varint(20, 2); // AttributeProto.i, type = INT

    private static Proto Ints(string name, params int[] values)
    {
        var a = new Proto().Str(1, name).Varint(20, 7); // AttributeProto.type = INTS
        foreach (int v in values) a.Varint(8, v);
        return a;
    }

    private static Proto Tensor(string name, int type, int[] dims, ReadOnlySpan<byte> raw)
    {
        var t = new Proto();
        foreach (int d in dims) t.Varint(1, d);
        return t.Varint(2, type).Str(8, name).Bytes(9, raw);
    }

    private static byte[] Model(Proto graph) =>
        new Proto().Varint(1, 9).Msg(8, new Proto().Str(1, "").Varint(2, 19)).Str(2, "Quant.Net.Benchmarks").Msg(7, graph).ToArray();

    private static byte[] OneNode(string op, int length, int inputType, int outputType, float scale, int zeroPoint, int zeroPointType)
    {
        var node = new Proto().Str(1, "x").Str(1, "scale").Str(1, "zero_point").Str(2, "y").Str(3, op).Str(4, op);
        var scaleTensor = new Proto().Varint(2, Float).Str(8, "scale").Bytes(9, BitConverter.GetBytes(scale));
        byte[] zpRaw = zeroPointType is UInt16 or Int16 ? BitConverter.GetBytes((short)zeroPoint) : [(byte)zeroPoint];
        var zpTensor = new Proto().Varint(2, zeroPointType).Str(8, "zero_point").Bytes(9, zpRaw);
        var graph = new Proto()
            .Msg(1, node).Str(2, op + "_graph")
            .Msg(5, scaleTensor).Msg(5, zpTensor)
            .Msg(11, ValueInfo("x", inputType, length))
            .Msg(12, ValueInfo("y", outputType, length));
        var opset = new Proto().Str(1, "").Varint(2, 19);
        return new Proto().Varint(1, 9).Msg(8, opset).Str(2, "Quant.Net.Benchmarks").Msg(7, graph).ToArray();
    }

    private static Proto ValueInfo(string name, int elemType, int length) => ValueInfo(name, elemType, [length]);

    private static Proto ValueInfo(string name, int elemType, int[] dims)
    {
        var shape = new Proto();
        foreach (int d in dims) shape.Msg(1, new Proto().Varint(1, d));
        var tensorType = new Proto().Varint(1, elemType).Msg(2, shape);
        return new Proto().Str(1, name).Msg(2, new Proto().Msg(1, tensorType));
    }

    private sealed class Proto
    {
        private readonly MemoryStream _stream = new();

        public Proto Varint(int field, long value)
        {
            Key(field, 0);
            Raw((ulong)value);
            return this;
        }

        public Proto Bytes(int field, ReadOnlySpan<byte> value)
        {
            Key(field, 2);
            Raw((ulong)value.Length);
            _stream.Write(value);
            return this;
        }

        public Proto Str(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public Proto Msg(int field, Proto message) => Bytes(field, message.ToArray());

        public byte[] ToArray() => _stream.ToArray();

        private void Key(int field, int wireType) => Raw((ulong)((field << 3) | wireType));

        private void Raw(ulong value)
        {
            while (value >= 0x80)
            {
                _stream.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            _stream.WriteByte((byte)value);
        }
    }
}
