using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Quant.Net.Onnx;

/// <summary>Reads and writes NumPy <c>.npy</c> files (format versions 1-3, little-endian, C order).</summary>
public static partial class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads a tensor. float64/float16 are converted to float32; int64, int32 and uint8 keep their type.</summary>
    /// <exception cref="InvalidDataException">The file is not a supported .npy file (the message names it and says why).</exception>
    public static InputTensor Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = BoundedFile.ReadAllBytes(path);
        try
        {
            return Parse(bytes);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{Path.GetFileName(path)}': {e.Message}", e);
        }
    }

    /// <summary>Parses the bytes of a .npy file.</summary>
    /// <exception cref="InvalidDataException">Not a supported .npy file.</exception>
    public static InputTensor Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 10 || !bytes[..6].SequenceEqual(Magic))
        {
            throw new InvalidDataException("not a NumPy .npy file (bad magic).");
        }

        int major = bytes[6];
        int headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]) : bytes.Length >= 12 ? (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]) : -1;
        int headerStart = major == 1 ? 10 : 12;
        if (major is < 1 or > 3 || headerLength < 0 || headerStart + headerLength > bytes.Length)
        {
            throw new InvalidDataException($"unsupported or truncated .npy header (version {major}).");
        }

        string header = Encoding.UTF8.GetString(bytes.Slice(headerStart, headerLength));
        var descr = DescrPattern().Match(header);
        var shapeMatch = ShapePattern().Match(header);
        if (!descr.Success || !shapeMatch.Success)
        {
            throw new InvalidDataException($"cannot read the .npy header '{header.Trim()}'.");
        }

        if (FortranPattern().IsMatch(header))
        {
            throw new InvalidDataException("Fortran-order arrays are not supported; save with np.ascontiguousarray.");
        }

        var dims = shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var shape = new int[dims.Length];
        long count = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            // Each dimension and their product are bounded by the bytes present (checked before multiplying further).
            if (!int.TryParse(dims[i], NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]) || (shape[i] > 0 && count > bytes.Length / shape[i]))
            {
                throw new InvalidDataException($"shape ({string.Join(", ", dims)}) does not fit the file's {bytes.Length} bytes (dimension {i} is '{dims[i]}').");
            }

            count *= shape[i];
        }

        var data = bytes[(headerStart + headerLength)..];
        string type = descr.Groups[1].Value;
        int size = type[^1] - '0';
        if (type.Length != 3 || size is < 1 or > 8)
        {
            throw new InvalidDataException($"unsupported dtype '{type}'.");
        }

        if (data.Length != count * size)
        {
            throw new InvalidDataException($"holds {data.Length} data bytes; shape [{string.Join(", ", shape)}] of '{type}' needs {count * size}.");
        }

        if (type[0] == '>')
        {
            throw new InvalidDataException($"big-endian dtype '{type}' is not supported.");
        }

        switch (type[1..])
        {
            case "f4":
                return InputTensor.FromFloats(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(data).ToArray(), shape);
            case "f8":
                var doubles = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(data);
                var f = new float[doubles.Length];
                for (int i = 0; i < f.Length; i++)
                {
                    f[i] = (float)doubles[i];
                }

                return InputTensor.FromFloats(f, shape);
            case "f2":
                var halves = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(data);
                var h = new float[halves.Length];
                for (int i = 0; i < h.Length; i++)
                {
                    h[i] = (float)halves[i];
                }

                return InputTensor.FromFloats(h, shape);
            case "i8":
                return InputTensor.FromInt64(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(data).ToArray(), shape);
            case "i4":
                return InputTensor.FromInt32(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(data).ToArray(), shape);
            case "u1":
                return InputTensor.FromBytes(data.ToArray(), shape);
            default:
                throw new InvalidDataException($"unsupported dtype '{type}' (float32/64/16, int64, int32 and uint8 are).");
        }
    }

    /// <summary>Writes a float32 array as a version-1 .npy file.</summary>
    public static void Write(string path, ReadOnlySpan<float> data, ReadOnlySpan<int> shape) =>
        Write(path, "<f4", System.Runtime.InteropServices.MemoryMarshal.AsBytes(data), data.Length, shape);

    /// <summary>Writes an int64 array (token ids, for example) as a version-1 .npy file.</summary>
    public static void WriteInt64(string path, ReadOnlySpan<long> data, ReadOnlySpan<int> shape) =>
        Write(path, "<i8", System.Runtime.InteropServices.MemoryMarshal.AsBytes(data), data.Length, shape);

    private static void Write(string path, string descr, ReadOnlySpan<byte> data, int elements, ReadOnlySpan<int> shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        long count = 1;
        foreach (int d in shape)
        {
            count *= d;
        }

        if (count != elements)
        {
            throw new ArgumentException($"Shape holds {count} elements but the data has {elements}.", nameof(data));
        }

        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape.ToArray());
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}";
        int padded = (10 + header.Length + 1 + 63) / 64 * 64;
        header = header.PadRight(padded - 10 - 1) + "\n";
        using var stream = File.Create(path);
        stream.Write(Magic);
        stream.Write([1, 0]);
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)header.Length);
        stream.Write(length);
        stream.Write(Encoding.ASCII.GetBytes(header));
        stream.Write(data);
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([<>|=][a-z]\d)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([\d,\s]*)\)")]
    private static partial Regex ShapePattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*True")]
    private static partial Regex FortranPattern();
}
