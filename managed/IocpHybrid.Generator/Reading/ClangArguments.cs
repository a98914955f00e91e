namespace IocpHybrid.Generator.Reading;

// The clang command line for one target, built from the options (same for header and macro parses).
internal static class ClangArguments
{
    public static List<string> For(Options options, string target, string? builtinIncludes)
    {
        var args = new List<string> { "-x", options.Language, "-std=" + options.Std, "-target", target };
        if (builtinIncludes is not null)
        {
            args.Add("-isystem");
            args.Add(builtinIncludes);
        }

        args.AddRange(options.DefineMacros.Select(m => "-D" + m));
        args.AddRange(options.IncludeDirectories.Select(d => "-I" + Path.GetFullPath(d)));
        args.AddRange(options.Additional);
        return args;
    }
}
