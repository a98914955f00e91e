using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace IocpHybrid.Generator.Clang;

// Cursor helpers over the C API: children (clang_visitChildren with an unmanaged visitor),
// names, source position.
internal static unsafe class Cursors
{
    public static List<CXCursor> Children(CXCursor parent)
    {
        var children = new List<CXCursor>();
        GCHandle handle = GCHandle.Alloc(children);
        try
        {
            LibClang.clang_visitChildren(parent, &Visit, (void*)GCHandle.ToIntPtr(handle));
        }
        finally
        {
            handle.Free();
        }

        return children;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Visit(CXCursor cursor, CXCursor parent, void* clientData)
    {
        var children = (List<CXCursor>)GCHandle.FromIntPtr((IntPtr)clientData).Target!;
        children.Add(cursor);
        return 1; // CXChildVisit_Continue
    }

    public static string Spelling(CXCursor cursor) => ClangText.Take(LibClang.clang_getCursorSpelling(cursor));

    public static string Usr(CXCursor cursor) => ClangText.Take(LibClang.clang_getCursorUSR(cursor));

    public static bool IsFromMainFile(CXCursor cursor) =>
        LibClang.clang_Location_isFromMainFile(LibClang.clang_getCursorLocation(cursor)) != 0;

    public static uint Offset(CXSourceLocation location)
    {
        uint offset;
        LibClang.clang_getSpellingLocation(location, null, null, null, &offset);
        return offset;
    }

    public static uint Line(CXCursor cursor)
    {
        uint line;
        LibClang.clang_getSpellingLocation(LibClang.clang_getCursorLocation(cursor), null, &line, null, null);
        return line;
    }
}
