using Spectre.Console;

namespace Quant.Net.Cli;

/// <summary>
/// The built-in demo: quantizes a realistic weight matrix (Laplace-distributed rows with very different ranges, as in
/// trained layers) and a ReLU activation tensor under the common schemes, and compares each against FP32.
/// </summary>
internal static class DemoCommand
{
    private static readonly System.Globalization.CultureInfo Inv = System.Globalization.CultureInfo.InvariantCulture;

    public static int Run(IAnsiConsole console)
    {
        const int rows = 512, cols = 1024;
        float[] weights = LaplaceRows(rows, cols, seed: 2026);
        float[] activations = ReluActivations(64 * 1024, seed: 7);
        console.MarkupLine($"[bold]Quant.Net demo[/]: weights [[{rows}, {cols}]] (Laplace rows, spread 0.01–1 per row)");
        console.MarkupLine($"and activations [[{activations.Length}]] (ReLU of N(0.2, 1), rare outliers), each vs FP32.");
        string simd = QuantOps.VectorBits == 0 ? "scalar" : $"{QuantOps.VectorBits}-bit";
        console.MarkupLine($"SIMD: [green]{simd}[/] vectors.");

        var table = new Table().RoundedBorder()
            .AddColumn("tensor").AddColumn(new TableColumn("scheme").NoWrap()).AddColumn(new TableColumn("bytes").RightAligned())
            .AddColumn(new TableColumn("smaller").RightAligned()).AddColumn(new TableColumn("SQNR dB").RightAligned())
            .AddColumn(new TableColumn("max err").RightAligned());

        int[] shape = [rows, cols];
        AddRow(table, "weights", "FP32 baseline", weights, shape, null);
        AddRow(table, "weights", "int16 per-tensor", weights, shape, QuantScheme.Int16Symmetric);
        AddRow(table, "weights", "int8 per-tensor", weights, shape, QuantScheme.Int8SymmetricPerTensor);
        AddRow(table, "weights", "int8 per-channel", weights, shape, QuantScheme.Int8SymmetricPerChannel(axis: 0));
        AddRow(table, "weights", "int4 per-channel", weights, shape, new QuantScheme(4, true, true, false, QuantGranularity.PerChannel(0)));
        AddRow(table, "weights", "int4 block-32", weights, shape, QuantScheme.Int4Block(axis: 1, blockSize: 32));
        int[] actShape = [activations.Length];
        AddRow(table, "act.", "FP32 baseline", activations, actShape, null);
        AddRow(table, "act.", "uint8 asym", activations, actShape, QuantScheme.UInt8Asymmetric);
        AddRow(table, "act.", "uint16 asym", activations, actShape, QuantScheme.UInt16Asymmetric);
        console.Write(table);
        console.MarkupLine("Sizes include scales and zero points. Per-channel and block scales keep");
        console.MarkupLine("small-range rows accurate; one per-tensor scale is set by the widest row.");
        console.MarkupLine("Speed: see the README's benchmark table. ONNX models: [grey]quant quantize[/] (the built-in Fashion-MNIST CNN");
        console.MarkupLine("without arguments), [grey]quant analyze[/], [grey]quant mixed-precision[/], [grey]quant weight-only[/] for LLMs.");
        return 0;
    }

    private static void AddRow(Table table, string tensor, string name, float[] data, int[] shape, QuantScheme? scheme)
    {
        long fp32Bytes = data.Length * sizeof(float);
        if (scheme is null)
        {
            table.AddRow(tensor, name, fp32Bytes.ToString("N0", Inv), "1.00×", "∞", "0");
            return;
        }
        var s = scheme.Value;
        var encoding = QuantEncoding.FromTensor(s, data, shape);
        var restored = new float[data.Length];
        long payload;
        if (s.BitWidth <= 4)
        {
            var packed = new byte[Int4Packing.PackedLength(data.Length)];
            QuantOps.QuantizeInt4(data, shape, encoding, packed);
            QuantOps.DequantizeInt4(packed, shape, encoding, restored);
            payload = packed.Length;
        }
        else if (s.BitWidth <= 8)
        {
            payload = s.IsSigned ? RoundTrip<sbyte>(data, shape, encoding, restored) : RoundTrip<byte>(data, shape, encoding, restored);
        }
        else
        {
            payload = s.IsSigned ? RoundTrip<short>(data, shape, encoding, restored) : RoundTrip<ushort>(data, shape, encoding, restored);
        }
        long bytes = payload + encoding.Count * (sizeof(float) + (s.IsSymmetric ? 0 : s.BitWidth <= 8 ? 1 : 2));
        table.AddRow(tensor, name, bytes.ToString("N0", Inv), string.Create(Inv, $"{(double)fp32Bytes / bytes:F2}×"),
            ErrorMetrics.SqnrDecibels(data, restored).ToString("F1", Inv),
            ErrorMetrics.MaxAbsoluteError(data, restored).ToString("G3", Inv));
    }

    private static long RoundTrip<T>(float[] data, int[] shape, QuantEncoding encoding, float[] restored) where T : unmanaged
    {
        var q = new T[data.Length];
        QuantOps.Quantize<T>(data, shape, encoding, q);
        QuantOps.Dequantize<T>(q, shape, encoding, restored);
        return (long)data.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
    }

    private static float[] LaplaceRows(int rows, int cols, int seed)
    {
        var random = new Random(seed);
        var data = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            double spread = Math.Exp(Math.Log(0.01) + random.NextDouble() * Math.Log(100)); // 0.01 .. 1, log-uniform
            for (int c = 0; c < cols; c++)
            {
                double u = random.NextDouble() - 0.5;
                data[r * cols + c] = (float)(-spread * Math.Sign(u) * Math.Log(1 - 2 * Math.Abs(u)));
            }
        }
        return data;
    }

    private static float[] ReluActivations(int length, int seed)
    {
        var random = new Random(seed);
        var data = new float[length];
        for (int i = 0; i < length; i++)
        {
            double g = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            data[i] = (float)Math.Max(0, 0.2 + g);
            if (random.Next(5000) == 0) data[i] *= 20; // rare outliers stretch the min/max range
        }
        return data;
    }
}
