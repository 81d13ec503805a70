using System.Security.Cryptography;

namespace Quant.Net.Onnx.Tests.Fuzz;

/// <summary>
/// Every entry under a folder with a fingerprint: SHA-256 of a regular file's bytes, the target of a symbolic link
/// (never followed, so links to endless devices are safe to snapshot), "dir" for a folder, "special" for FIFOs and
/// devices. Comparing two snapshots finds modified inputs and stray files.
/// </summary>
internal sealed class FolderSnapshot
{
    private readonly Dictionary<string, string> _entries;

    private FolderSnapshot(Dictionary<string, string> entries) => _entries = entries;

    /// <summary>Relative paths of every entry.</summary>
    public IReadOnlyCollection<string> Paths => _entries.Keys;

    /// <summary>Fingerprints every entry under <paramref name="root"/> (hidden files included); <paramref name="special"/> (full paths of FIFOs) are never opened.</summary>
    public static FolderSnapshot Take(string root, IReadOnlyCollection<string> special)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        Walk(root, root, special, entries);
        return new FolderSnapshot(entries);
    }

    private static void Walk(string root, string folder, IReadOnlyCollection<string> special, Dictionary<string, string> entries)
    {
        foreach (var entry in new DirectoryInfo(folder).EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0, RecurseSubdirectories = false, IgnoreInaccessible = false }))
        {
            string relative = Path.GetRelativePath(root, entry.FullName);
            if (entry.LinkTarget is { } target)
            {
                entries[relative] = "link:" + target;
            }
            else if (entry is DirectoryInfo)
            {
                entries[relative] = "dir";
                Walk(root, entry.FullName, special, entries);
            }
            else if (!special.Contains(entry.FullName))
            {
                try
                {
                    entries[relative] = "sha256:" + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(entry.FullName)));
                }
                catch (UnauthorizedAccessException)
                {
                    entries[relative] = "unreadable:" + entry.LastWriteTimeUtc.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            else
            {
                entries[relative] = "special";
            }
        }
    }

    /// <summary>Entries of this snapshot that are missing or different in <paramref name="after"/>.</summary>
    public IEnumerable<string> ChangedIn(FolderSnapshot after) =>
        _entries.Where(e => !after._entries.TryGetValue(e.Key, out var now) || now != e.Value).Select(e => e.Key);

    /// <summary>Entries of <paramref name="after"/> that this snapshot does not have.</summary>
    public IEnumerable<string> AddedIn(FolderSnapshot after) => after._entries.Keys.Where(k => !_entries.ContainsKey(k));
}
