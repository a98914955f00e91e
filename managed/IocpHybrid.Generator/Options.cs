namespace IocpHybrid.Generator;

// Command line in ClangSharpPInvokeGenerator's option style, plus this generator's own options.
// "@file" expands a response file: whitespace-separated tokens, lines starting with '#' ignored.
// A multi-valued option takes every following token that does not start with '-';
// "--option=value" passes a value that does (for example --additional=-ffreestanding).
internal sealed class Options
{
    public List<string> Files { get; } = [];
    public List<string> Traverse { get; } = [];
    public string? FileDirectory { get; private set; }
    public string Namespace { get; private set; } = "";
    public string MethodClassName { get; private set; } = "Methods";
    public string LibraryPath { get; private set; } = "";
    public string Output { get; private set; } = "";
    public string? HeaderFile { get; private set; }
    public string Language { get; private set; } = "c";
    public string Std { get; private set; } = "c11";
    public List<string> DefineMacros { get; } = [];
    public List<string> IncludeDirectories { get; } = [];
    public List<string> Additional { get; } = [];
    public HashSet<string> Config { get; } = [];
    public List<string> Targets { get; } = [];
    public string? LayoutTestOutput { get; private set; }
    public string? LayoutTestNamespace { get; private set; }
    public string? CLayoutOutput { get; private set; }
    public string? LibClangPath { get; private set; }
    public bool Check { get; private set; }

    /// <summary>The C# access of every generated type: "public" or "internal" (ClangSharp's --with-access-specifier *=Internal).</summary>
    public string TypeAccess { get; private set; } = "public";

    // The ClangSharp --config values this generator implements; anything else is refused.
    private static readonly HashSet<string> s_knownConfig =
        ["multi-file", "generate-file-scoped-namespaces", "generate-macro-bindings", "latest-codegen"];

    public static Options Parse(IEnumerable<string> rawArgs)
    {
        var args = Expand(rawArgs).ToList();
        var options = new Options();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            string name = arg;
            string? inline = null;
            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                name = arg[..eq];
                inline = arg[(eq + 1)..];
            }

            List<string> Values()
            {
                if (inline is not null)
                {
                    return [inline];
                }

                var values = new List<string>();
                while (i + 1 < args.Count && !args[i + 1].StartsWith('-'))
                {
                    values.Add(args[++i]);
                }

                if (values.Count == 0)
                {
                    throw new GeneratorException($"option {name} needs a value");
                }

                return values;
            }

            string One() => Values() is [var single] ? single : throw new GeneratorException($"option {name} takes one value");

            switch (name)
            {
                case "--file" or "-f": options.Files.AddRange(Values()); break;
                case "--traverse" or "-t": options.Traverse.AddRange(Values()); break;
                case "--file-directory" or "-F": options.FileDirectory = One(); break;
                case "--namespace" or "-n": options.Namespace = One(); break;
                case "--methodClassName" or "-m": options.MethodClassName = One(); break;
                case "--libraryPath" or "-l": options.LibraryPath = One(); break;
                case "--output" or "-o": options.Output = One(); break;
                case "--headerFile" or "-h": options.HeaderFile = One(); break;
                case "--language" or "-x": options.Language = One(); break;
                case "--std" or "-std": options.Std = One(); break;
                case "--define-macro" or "-D": options.DefineMacros.AddRange(Values()); break;
                case "--include-directory" or "-I": options.IncludeDirectories.AddRange(Values()); break;
                case "--additional" or "-a": options.Additional.AddRange(Values()); break;
                case "--config" or "-c": options.Config.UnionWith(Values()); break;
                case "--target": options.Targets.AddRange(Values()); break;
                case "--layout-test-output": options.LayoutTestOutput = One(); break;
                case "--layout-test-namespace": options.LayoutTestNamespace = One(); break;
                case "--c-layout-output": options.CLayoutOutput = One(); break;
                case "--libclang": options.LibClangPath = One(); break;
                case "--check": options.Check = true; break;
                case "--with-access-specifier" or "-was": options.SetAccess(Values()); break;
                default: throw new GeneratorException($"unknown option {arg}");
            }
        }

        options.Validate();
        return options;
    }

    /// <summary>Only the form "*=Internal" / "*=Public" (every declaration) is implemented.</summary>
    private void SetAccess(IEnumerable<string> values)
    {
        foreach (string value in values)
        {
            TypeAccess = value switch
            {
                "*=Internal" => "internal",
                "*=Public" => "public",
                _ => throw new GeneratorException($"unsupported --with-access-specifier {value} (supported: *=Internal, *=Public)"),
            };
        }
    }

    public string ResolveFile(string file) =>
        Path.GetFullPath(FileDirectory is null ? file : Path.Combine(FileDirectory, file));

    private void Validate()
    {
        if (Files.Count != 1)
        {
            throw new GeneratorException("exactly one --file is supported");
        }

        if (Namespace.Length == 0 || LibraryPath.Length == 0 || Output.Length == 0)
        {
            throw new GeneratorException("--namespace, --libraryPath and --output are required");
        }

        if (Language != "c")
        {
            throw new GeneratorException("only --language c is supported");
        }

        foreach (string config in Config)
        {
            if (!s_knownConfig.Contains(config))
            {
                throw new GeneratorException($"unsupported --config {config} (supported: {string.Join(", ", s_knownConfig.Order())})");
            }
        }

        if (!Config.Contains("multi-file"))
        {
            throw new GeneratorException("only --config multi-file output is implemented");
        }

        if (Targets.Count == 0)
        {
            Targets.Add("x86_64-linux-gnu");
        }
    }

    private static IEnumerable<string> Expand(IEnumerable<string> args)
    {
        foreach (string arg in args)
        {
            if (arg.StartsWith('@'))
            {
                foreach (string line in File.ReadAllLines(arg[1..]))
                {
                    string trimmed = line.Trim();
                    if (trimmed.Length == 0 || trimmed.StartsWith('#'))
                    {
                        continue;
                    }

                    foreach (string token in trimmed.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
                    {
                        yield return token;
                    }
                }
            }
            else
            {
                yield return arg;
            }
        }
    }
}
