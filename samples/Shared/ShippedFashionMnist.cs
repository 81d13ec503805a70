// The Fashion-MNIST CNN and images that the `quant` tool ships (src/Quant.Net.Cli/DefaultModel: the model trained by
// tools/train_fashion_cnn.py, the first 256 training and 500 test images; Fashion-MNIST, (c) Zalando SE, MIT). A sample's
// project file copies them into its output folder's data/ and links this file in.
using System.Buffers.Binary;
using Quant.Net.Onnx;

/// <summary>The shipped Fashion-MNIST CNN and its calibration and test images.</summary>
internal static class ShippedFashionMnist
{
    /// <summary>The model's one input, [N, 1, 28, 28] grey pixels in [0, 1].</summary>
    public const string InputName = "image";

    /// <summary>The FP32 model: 3 × Conv+BatchNorm+ReLU, 2 × MaxPool, 2 × Gemm.</summary>
    public static string ModelPath => DataFile("fashion_cnn.onnx");

    /// <summary>The first 256 training images, for calibration.</summary>
    public static IReadOnlyList<InputTensor> CalibrationImages() => Images("calibration.idx3", int.MaxValue);

    /// <summary>The first <paramref name="count"/> (at most 500) test images and their labels.</summary>
    public static (IReadOnlyList<InputTensor> Images, int[] Labels) TestSet(int count = 500)
    {
        var images = Images("test.idx3", count);
        var labels = File.ReadAllBytes(DataFile("test.idx1"))[8..];
        return (images, [.. labels.Take(images.Count).Select(l => (int)l)]);
    }

    private static string DataFile(string name) => Path.Combine(AppContext.BaseDirectory, "data", name);

    /// <summary>Reads an IDX image file (big-endian count, rows, columns, then one byte per pixel).</summary>
    private static List<InputTensor> Images(string name, int limit)
    {
        var bytes = File.ReadAllBytes(DataFile(name));
        int count = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4)), rows = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(8));
        int cols = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(12)), pixels = rows * cols;
        return [.. Enumerable.Range(0, Math.Min(count, limit)).Select(i =>
            InputTensor.FromFloats([.. bytes.AsSpan(16 + (i * pixels), pixels).ToArray().Select(b => b / 255f)], 1, 1, rows, cols))];
    }
}
