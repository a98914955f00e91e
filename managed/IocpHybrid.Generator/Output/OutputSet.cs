namespace IocpHybrid.Generator.Output;

// Every generated file, kept in memory, then either written (only files whose text changed;
// stale *.cs files in the owned output folder are deleted) or compared with the disk (--check).
internal sealed class OutputSet
{
    private readonly SortedDictionary<string, string> _files = new(StringComparer.Ordinal);
    private readonly List<string> _ownedDirectories = [];

    public IReadOnlyDictionary<string, string> Files => _files;

    public void Add(string path, string content) => _files[Path.GetFullPath(path)] = content;

    // A folder that holds generated files only: a *.cs file there that is no longer generated is stale.
    public void Own(string directory) => _ownedDirectories.Add(Path.GetFullPath(directory));

    public int Write()
    {
        int changed = 0;
        foreach ((string path, string content) in _files)
        {
            if (Read(path) != content)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, content);
                Console.WriteLine($"wrote   {Display(path)}");
                changed++;
            }
        }

        foreach (string stale in Stale())
        {
            File.Delete(stale);
            Console.WriteLine($"deleted {Display(stale)}");
            changed++;
        }

        Console.WriteLine($"{_files.Count} files generated, {changed} changed.");
        return 0;
    }

    public int Check()
    {
        int differing = 0;
        foreach ((string path, string content) in _files)
        {
            string? disk = Read(path);
            if (disk != content)
            {
                Console.WriteLine(disk is null ? $"missing: {Display(path)}" : $"differs: {Display(path)}");
                differing++;
            }
        }

        foreach (string stale in Stale())
        {
            Console.WriteLine($"stale:   {Display(stale)} (no longer generated)");
            differing++;
        }

        Console.WriteLine(differing == 0
            ? $"check: all {_files.Count} generated files are up to date."
            : $"check: {differing} file(s) out of date; regenerate without --check.");
        return differing == 0 ? 0 : 1;
    }

    private IEnumerable<string> Stale() =>
        _ownedDirectories.Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*.cs", SearchOption.TopDirectoryOnly))
            .Where(f => !_files.ContainsKey(f))
            .Order(StringComparer.Ordinal)
            .ToList();

    // Line endings are normalised, so a checkout with CRLF (git autocrlf on Windows) still compares equal.
    private static string? Read(string path) =>
        File.Exists(path) ? File.ReadAllText(path).ReplaceLineEndings("\n") : null;

    private static string Display(string path) => Path.GetRelativePath(Directory.GetCurrentDirectory(), path);
}
