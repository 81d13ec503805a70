using Quant.Net.Onnx;

namespace Quant.Net.Cli;

/// <summary>The model and Fashion-MNIST samples shipped inside the tool (see DefaultModel/README.md).</summary>
internal static class DefaultModel
{
    public const string InputName = "image";

    public static OnnxModel Load() => OnnxModel.FromBytes(Resource("fashion_cnn.onnx"));

    /// <summary>The first 256 training images, for calibration.</summary>
    public static IReadOnlyList<InputTensor> CalibrationImages() => Images("calibration.idx3");

    /// <summary>The first 500 test images and their labels.</summary>
    public static (IReadOnlyList<InputTensor> Images, byte[] Labels) TestSet()
    {
        var labels = Resource("test.idx1");
        return (Images("test.idx3"), labels[8..]);
    }

    private static List<InputTensor> Images(string name)
    {
        var bytes = Resource(name);
        int count = ReadBigEndian(bytes, 4), rows = ReadBigEndian(bytes, 8), cols = ReadBigEndian(bytes, 12);
        var images = new List<InputTensor>(count);
        for (int i = 0; i < count; i++)
        {
            var data = new float[rows * cols];
            for (int p = 0; p < data.Length; p++)
            {
                data[p] = bytes[16 + (i * rows * cols) + p] / 255f;
            }

            images.Add(InputTensor.FromFloats(data, 1, 1, rows, cols));
        }

        return images;
    }

    private static int ReadBigEndian(byte[] bytes, int offset) => System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(offset));

    private static byte[] Resource(string name)
    {
        using var stream = typeof(DefaultModel).Assembly.GetManifestResourceStream("DefaultModel." + name)
            ?? throw new InvalidOperationException($"The default model resource '{name}' is missing from the tool.");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }
}
