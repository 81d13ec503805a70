namespace Quant.Net.Onnx;

/// <summary>
/// Reads a whole file by the size the file system reports, never more: a special file that streams forever (a
/// character device, or a symlink to one) reads as its reported size (0) instead of filling memory, a FIFO (also of
/// size 0) is never opened (opening one blocks until a writer comes), and files above 2 GiB are refused.
/// </summary>
internal static class BoundedFile
{
    /// <exception cref="InvalidDataException">The file is missing (or a broken or looping link), cannot be read, is larger than 2 GiB, or is shorter than its reported size (the file is named).</exception>
    public static byte[] ReadAllBytes(string path)
    {
        string name = Path.GetFileName(path);
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new InvalidDataException($"'{name}' does not exist{(info.LinkTarget is { } target ? $" (a link to '{target}', which does not)" : "")}.");
            }

            if (ReportedLength(path) == 0)
            {
                // Empty, a device or a FIFO: nothing to read, and opening a FIFO would wait for a writer forever.
                return [];
            }

            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            long length = stream.Length;
            if (length > Array.MaxLength)
            {
                throw new InvalidDataException($"'{name}' is {length} bytes; files above 2 GiB are not read.");
            }

            var bytes = new byte[length];
            try
            {
                stream.ReadExactly(bytes);
            }
            catch (EndOfStreamException e)
            {
                throw new InvalidDataException($"'{name}' ended before its reported {length} bytes.", e);
            }

            return bytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"'{name}' cannot be read: {e.Message}", e);
        }
    }

    /// <summary>
    /// The size the file system reports for <paramref name="path"/>, through symbolic links (a link's own size is that of
    /// the path it holds): 0 for an empty file, a device or a FIFO.
    /// </summary>
    /// <exception cref="IOException">A link loops or cannot be followed.</exception>
    public static long ReportedLength(string path)
    {
        var info = new FileInfo(path);
        return info.LinkTarget is null ? info.Length : info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo { Exists: true } target ? target.Length : 0;
    }

    /// <summary>The file's bytes (as <see cref="ReadAllBytes"/> reads them) as UTF-8 text.</summary>
    /// <exception cref="InvalidDataException">As <see cref="ReadAllBytes"/>.</exception>
    public static string ReadAllText(string path) => System.Text.Encoding.UTF8.GetString(ReadAllBytes(path)).TrimStart('\uFEFF');
}
