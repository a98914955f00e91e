using IocpHybrid.Generator;
using IocpHybrid.Generator.Clang;
using IocpHybrid.Generator.Emit;
using IocpHybrid.Generator.Model;
using IocpHybrid.Generator.Output;
using IocpHybrid.Generator.Reading;

// dotnet run --project managed/IocpHybrid.Generator -- @managed/IocpHybrid.Generator/iocphybrid.rsp [--check]
// Exit codes: 0 done / up to date, 1 --check found differences, 2 error.
try
{
    Options options = Options.Parse(args);
    LibClangLoader.Install(options.LibClangPath);
    string header = options.HeaderFile is null ? "" : File.ReadAllText(options.HeaderFile).ReplaceLineEndings("\n").TrimEnd('\n') + "\n\n";
    string headerPath = options.ResolveFile(options.Files[0]);
    if (!File.Exists(headerPath))
    {
        throw new GeneratorException($"header not found: {headerPath}");
    }

    string? builtinIncludes = BuiltinIncludes.Find(options, headerPath);
    var results = new List<(string Target, OutputSet Output)>();
    foreach (string target in options.Targets)
    {
        NativeApi api = HeaderReader.Read(options, target, builtinIncludes);
        results.Add((target, Generation.Build(options, api, header)));
    }

    TargetComparison.EnsureSame(results);
    OutputSet output = results[0].Output;
    return options.Check ? output.Check() : output.Write();
}
catch (GeneratorException e)
{
    Console.Error.WriteLine("error: " + e.Message);
    return 2;
}
