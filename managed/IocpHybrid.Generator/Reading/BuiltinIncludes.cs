using IocpHybrid.Generator.Clang;

namespace IocpHybrid.Generator.Reading;

// libclang, unlike the clang driver, leaves its own builtin headers (stddef.h, stdbool.h, ...) out
// of the search path for some targets (x86_64-w64-windows-gnu with clang 14). Find them once, by
// asking where the first target's parse took size_t from, and pass that folder to every target.
internal static unsafe class BuiltinIncludes
{
    public static string? Find(Options options, string header)
    {
        string probe = Path.Combine(Path.GetDirectoryName(header)!, "__iocph_generator_probe.c");
        List<string> args = ClangArguments.For(options, options.Targets[0], builtinIncludes: null);
        using TranslationUnit tu = TranslationUnit.Parse(probe, args, "#include <stddef.h>\n", LibClang.SkipFunctionBodies);
        foreach (CXCursor cursor in Cursors.Children(tu.Cursor))
        {
            if (cursor.Kind == CXCursorKind.TypedefDecl && Cursors.Spelling(cursor) == "size_t")
            {
                void* file;
                LibClang.clang_getSpellingLocation(LibClang.clang_getCursorLocation(cursor), &file, null, null, null);
                string path = ClangText.Take(LibClang.clang_getFileName(file));
                return path.Length == 0 ? null : Path.GetDirectoryName(Path.GetFullPath(path));
            }
        }

        return null;
    }
}
