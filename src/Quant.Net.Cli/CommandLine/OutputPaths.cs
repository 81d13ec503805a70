namespace Quant.Net.Cli;

/// <summary>
/// Refuses, before any work, output paths that would overwrite the input model or each other (after resolving relative
/// parts and symbolic links): a quantizer must never destroy what it reads.
/// </summary>
internal static class OutputPaths
{
    /// <exception cref="UsageException">An output path is an empty string.</exception>
    /// <exception cref="ArgumentException">An output is the input model or its external data, a folder, in a folder that does not exist or cannot be written, or two outputs are the same file (the message names the options).</exception>
    public static void Check(string? model, params (string Option, string? Path)[] outputs)
    {
        if (outputs.FirstOrDefault(o => o.Path is { Length: 0 }) is { Option: { } empty })
        {
            throw new UsageException($"{empty} needs a file path, not an empty string.");
        }

        var given = outputs.Where(o => o.Path is not null).Select(o => (o.Option, o.Path, Resolved: Resolve(o.Path!))).ToList();
        if (model is not null)
        {
            string input = Resolve(model), data = Resolve(model + ".data");
            foreach (var (option, path, resolved) in given)
            {
                if (string.Equals(resolved, input, StringComparison.Ordinal))
                {
                    throw new ArgumentException($"{option} '{path}' is the input model; write to another file (the input is never modified).");
                }

                if (string.Equals(resolved, data, StringComparison.Ordinal) && File.Exists(data))
                {
                    throw new ArgumentException($"{option} '{path}' is the input model's external data; write to another file (the input is never modified).");
                }
            }
        }

        foreach (var (option, path, resolved) in given)
        {
            // Checked before any work, so a long calibration never ends in a path that cannot be written.
            if (Directory.Exists(resolved))
            {
                throw new ArgumentException($"{option} '{path}' is a folder; give a file path.");
            }

            string folder = Path.GetDirectoryName(resolved) ?? ".";
            if (!Directory.Exists(folder))
            {
                throw new ArgumentException($"{option} '{path}': folder '{folder}' does not exist.");
            }

            try
            {
                using (File.Create(Path.Combine(folder, $".quant-write-check-{Guid.NewGuid():N}"), 1, FileOptions.DeleteOnClose))
                {
                }
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                throw new ArgumentException($"{option} '{path}': cannot write in folder '{folder}' ({e.Message}).", e);
            }
        }

        for (int i = 0; i < given.Count; i++)
        {
            for (int j = i + 1; j < given.Count; j++)
            {
                if (string.Equals(given[i].Resolved, given[j].Resolved, StringComparison.Ordinal))
                {
                    throw new ArgumentException($"{given[i].Option} and {given[j].Option} are the same file ('{given[j].Path}'); give each its own path.");
                }
            }
        }
    }

    /// <summary>Refuses, before any work, a report folder that is an empty string, an existing file, or a path under a file.</summary>
    /// <exception cref="UsageException">The path is empty.</exception>
    /// <exception cref="ArgumentException">The path, or a folder on it, is a file (named).</exception>
    public static void CheckFolder(string option, string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new UsageException($"{option} needs a folder path, not an empty string.");
        }

        for (string? at = Path.GetFullPath(path); at is not null; at = Path.GetDirectoryName(at))
        {
            if (File.Exists(at))
            {
                throw new ArgumentException($"{option} '{path}': '{at}' is a file, not a folder.");
            }

            if (Directory.Exists(at))
            {
                return;
            }
        }
    }

    /// <summary>Refuses outputs that would replace a file in the calibration folder (a sample the run is about to read).</summary>
    /// <exception cref="ArgumentException">An output is a file of <paramref name="folder"/> (the options are named).</exception>
    public static void CheckOutside(string? folder, string folderOption, params (string Option, string? Path)[] outputs)
    {
        if (folder is null || !Directory.Exists(folder))
        {
            return;
        }

        string root = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
        foreach (var (option, path) in outputs.Where(o => o.Path is not null))
        {
            string resolved = Resolve(path!);
            if (string.Equals(Path.GetDirectoryName(resolved), root, StringComparison.Ordinal) && File.Exists(resolved))
            {
                throw new ArgumentException($"{option} '{path}' is a file of the {folderOption} folder; write outside it (calibration files are never modified).");
            }
        }
    }

    private static string Resolve(string path)
    {
        string full = Path.GetFullPath(path);
        try
        {
            return File.Exists(full) && new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true) is { } target ? Path.GetFullPath(target.FullName) : full;
        }
        catch (IOException)
        {
            return full;   // a dangling or looping link: compare the path as written
        }
    }
}
