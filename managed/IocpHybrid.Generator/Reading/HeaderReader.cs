using IocpHybrid.Generator.Clang;
using IocpHybrid.Generator.Model;

namespace IocpHybrid.Generator.Reading;

// Parses the header for one target and collects, in declaration order, every struct, enum,
// function and object-like macro declared in it (not in the headers it includes).
internal static class HeaderReader
{
    private const int StorageStatic = 3; // CX_SC_Static

    public static NativeApi Read(Options options, string target, string? builtinIncludes)
    {
        string header = options.ResolveFile(options.Files[0]);
        foreach (string traverse in options.Traverse)
        {
            if (options.ResolveFile(traverse) != header)
            {
                throw new GeneratorException($"--traverse {traverse}: only the --file itself can be traversed");
            }
        }

        List<string> args = ClangArguments.For(options, target, builtinIncludes);
        using TranslationUnit tu = TranslationUnit.Parse(header, args, null,
            LibClang.DetailedPreprocessingRecord | LibClang.SkipFunctionBodies);
        List<string> errors = tu.Errors();
        if (errors.Count > 0)
        {
            throw new GeneratorException($"{header} does not parse for {target}:\n  " + string.Join("\n  ", errors));
        }

        List<CXCursor> topLevel = Cursors.Children(tu.Cursor).Where(Cursors.IsFromMainFile).ToList();
        Dictionary<string, string> names = DeclaredNames.Collect(topLevel);
        var mapper = new TypeMapper(names);
        var typedefNames = topLevel.Where(c => c.Kind == CXCursorKind.TypedefDecl).Select(Cursors.Spelling).ToHashSet(StringComparer.Ordinal);
        var api = new NativeApi(target, [], [], [], []);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var macros = new List<MacroEvaluator.Candidate>();
        foreach (CXCursor cursor in topLevel)
        {
            switch (cursor.Kind)
            {
                case CXCursorKind.StructDecl or CXCursorKind.UnionDecl:
                    AddStruct(api, cursor, names, typedefNames, mapper);
                    break;
                case CXCursorKind.EnumDecl:
                    string enumName = names[Cursors.Usr(cursor)];
                    if (seen.Add("enum " + enumName))
                    {
                        api.Enums.Add(EnumReader.Read(tu, cursor, enumName));
                    }

                    break;
                case CXCursorKind.FunctionDecl:
                    if (LibClang.clang_Cursor_getStorageClass(cursor) != StorageStatic && seen.Add("fn " + Cursors.Spelling(cursor)))
                    {
                        api.Functions.Add(FunctionReader.Read(cursor, mapper));
                    }

                    break;
                case CXCursorKind.VarDecl:
                    throw new GeneratorException($"global variable {Cursors.Spelling(cursor)}: exported variables are not supported");
                case CXCursorKind.MacroDefinition when options.Config.Contains("generate-macro-bindings"):
                    MacroEvaluator.Candidate? candidate = MacroEvaluator.Describe(tu, cursor);
                    if (candidate is not null && seen.Add("macro " + candidate.Name))
                    {
                        macros.Add(candidate);
                    }

                    break;
            }
        }

        api.Constants.AddRange(MacroEvaluator.Evaluate(header, args, macros, reportSkipped: target == options.Targets[0]));
        return api;
    }

    private static void AddStruct(NativeApi api, CXCursor cursor, Dictionary<string, string> names, HashSet<string> typedefNames, TypeMapper mapper)
    {
        string name = names[Cursors.Usr(cursor)];
        StructDef def = StructReader.Read(cursor, name, typedefNames.Contains(name) ? name : "struct " + name, mapper);
        int existing = api.Structs.FindIndex(s => s.Name == name);
        if (existing < 0)
        {
            api.Structs.Add(def);
        }
        else if (api.Structs[existing].IsOpaque && !def.IsOpaque)
        {
            api.Structs[existing] = def; // forward declaration first, definition later
        }
    }
}
