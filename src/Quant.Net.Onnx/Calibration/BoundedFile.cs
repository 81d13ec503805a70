namespace Quant.Net.Onnx;

/// <summary>
/// Reads a whole file by the size the file system reports, never more: a special file that streams forever (a
/// character device, or a symlink to one) reads as its reported size (0) instead of filling memory, and files above
/// 2 GiB are refused.
/// </summary>
internal static class BoundedFile
{
    /// <exception cref="InvalidDataException">The file is larger than 2 GiB or shorter than its reported size (the file is named).</exception>
    public static byte[] ReadAllBytes(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        long length = stream.Length;
        if (length > Array.MaxLength)
        {
            throw new InvalidDataException($"'{Path.GetFileName(path)}' is {length} bytes; files above 2 GiB are not read.");
        }

        var bytes = new byte[length];
        try
        {
            stream.ReadExactly(bytes);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"'{Path.GetFileName(path)}' ended before its reported {length} bytes.", e);
        }

        return bytes;
    }
}
