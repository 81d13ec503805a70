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

    private static Proto ValueInfo(string name, int elemType, int length)
    {
        var dim = new Proto().Varint(1, length);
        var shape = new Proto().Msg(1, dim);
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
