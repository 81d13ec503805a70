namespace Quant.Net.Cli;

/// <summary>
/// Refuses, before any work, output paths that would overwrite the input model or each other (after resolving relative
/// parts and symbolic links): a quantizer must never destroy what it reads.
/// </summary>
internal static class OutputPaths
{
    /// <exception cref="ArgumentException">An output is the input model, or two outputs are the same file (the message names the options).</exception>
    public static void Check(string? model, params (string Option, string? Path)[] outputs)
    {
        var given = outputs.Where(o => o.Path is not null).Select(o => (o.Option, o.Path, Resolved: Resolve(o.Path!))).ToList();
        if (model is not null)
        {
            string input = Resolve(model);
            foreach (var (option, path, resolved) in given)
            {
                if (string.Equals(resolved, input, StringComparison.Ordinal))
                {
                    throw new ArgumentException($"{option} '{path}' is the input model; write to another file (the input is never modified).");
                }
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
