using IocpHybrid.Generator.Clang;

namespace IocpHybrid.Generator.Reading;

// The C# name of every struct and enum the header declares, keyed by libclang USR: its tag name,
// or for an anonymous one (typedef struct { ... } name;) the typedef's name.
internal static class DeclaredNames
{
    public static Dictionary<string, string> Collect(IReadOnlyList<CXCursor> topLevel)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (CXCursor cursor in topLevel)
        {
            if (cursor.Kind is CXCursorKind.StructDecl or CXCursorKind.UnionDecl or CXCursorKind.EnumDecl && !IsAnonymous(cursor))
            {
                names.TryAdd(Cursors.Usr(cursor), Cursors.Spelling(cursor));
            }
        }

        foreach (CXCursor cursor in topLevel)
        {
            if (cursor.Kind != CXCursorKind.TypedefDecl)
            {
                continue;
            }

            CXType underlying = LibClang.clang_getCanonicalType(LibClang.clang_getTypedefDeclUnderlyingType(cursor));
            if (underlying.Kind is CXTypeKind.Record or CXTypeKind.Enum)
            {
                names.TryAdd(Cursors.Usr(LibClang.clang_getTypeDeclaration(underlying)), Cursors.Spelling(cursor));
            }
        }

        return names;
    }

    public static bool IsAnonymous(CXCursor cursor)
    {
        string spelling = Cursors.Spelling(cursor);
        return LibClang.clang_Cursor_isAnonymous(cursor) != 0 || spelling.Length == 0 || spelling.Contains(' ', StringComparison.Ordinal);
    }
}
