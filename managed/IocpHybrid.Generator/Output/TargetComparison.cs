namespace IocpHybrid.Generator.Output;

// The binding is one for every target: the output generated from each target's parse must be
// identical (same C# types, same sizes, offsets and values), otherwise generation fails.
internal static class TargetComparison
{
    public static void EnsureSame(IReadOnlyList<(string Target, OutputSet Output)> results)
    {
        (string firstTarget, OutputSet first) = results[0];
        foreach ((string target, OutputSet other) in results.Skip(1))
        {
            foreach (string path in first.Files.Keys.Union(other.Files.Keys).Order(StringComparer.Ordinal))
            {
                first.Files.TryGetValue(path, out string? a);
                other.Files.TryGetValue(path, out string? b);
                if (a != b)
                {
                    throw new GeneratorException(
                        $"{firstTarget} and {target} disagree on {Path.GetFileName(path)}:\n" +
                        $"  {firstTarget}: {FirstDifference(a, b)}\n  {target}: {FirstDifference(b, a)}\n" +
                        "  (a C type whose size differs between targets, such as long or wchar_t? use a fixed-width type)");
                }
            }
        }
    }

    private static string FirstDifference(string? text, string? other)
    {
        if (text is null)
        {
            return "(not generated)";
        }

        string[] lines = text.Split('\n');
        string[] otherLines = (other ?? "").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (i >= otherLines.Length || lines[i] != otherLines[i])
            {
                return $"line {i + 1}: {lines[i].Trim()}";
            }
        }

        return "(shorter)";
    }
}
