using System.Runtime.InteropServices;

namespace IocpHybrid.Generator.Clang;

// libclang's C API, only the functions the generator calls. The library name is resolved at run
// time by LibClangLoader (Debian installs it as libclang-14.so.1, not libclang.so).
internal static unsafe partial class LibClang
{
    public const string Library = "libclang";

    public const uint DetailedPreprocessingRecord = 0x01;
    public const uint SkipFunctionBodies = 0x40;

    [DllImport(Library)] public static extern void* clang_createIndex(int excludeDeclarationsFromPch, int displayDiagnostics);
    [DllImport(Library)] public static extern void clang_disposeIndex(void* index);
    [DllImport(Library)]
    public static extern void* clang_parseTranslationUnit(void* index, byte* sourceFilename, byte** commandLineArgs,
        int numCommandLineArgs, CXUnsavedFile* unsavedFiles, uint numUnsavedFiles, uint options);
    [DllImport(Library)] public static extern void clang_disposeTranslationUnit(void* tu);

    [DllImport(Library)] public static extern uint clang_getNumDiagnostics(void* tu);
    [DllImport(Library)] public static extern void* clang_getDiagnostic(void* tu, uint index);
    [DllImport(Library)] public static extern int clang_getDiagnosticSeverity(void* diagnostic);
    [DllImport(Library)] public static extern CXString clang_formatDiagnostic(void* diagnostic, uint options);
    [DllImport(Library)] public static extern uint clang_defaultDiagnosticDisplayOptions();
    [DllImport(Library)] public static extern void clang_disposeDiagnostic(void* diagnostic);

    [DllImport(Library)] public static extern CXCursor clang_getTranslationUnitCursor(void* tu);
    [DllImport(Library)]
    public static extern uint clang_visitChildren(CXCursor parent,
        delegate* unmanaged[Cdecl]<CXCursor, CXCursor, void*, int> visitor, void* clientData);
    [DllImport(Library)] public static extern CXCursorKind clang_getCursorKind(CXCursor cursor);
    [DllImport(Library)] public static extern CXString clang_getCursorSpelling(CXCursor cursor);
    [DllImport(Library)] public static extern CXString clang_getCursorUSR(CXCursor cursor);
    [DllImport(Library)] public static extern CXType clang_getCursorType(CXCursor cursor);
    [DllImport(Library)] public static extern CXType clang_getCursorResultType(CXCursor cursor);
    [DllImport(Library)] public static extern CXSourceLocation clang_getCursorLocation(CXCursor cursor);
    [DllImport(Library)] public static extern CXSourceRange clang_getCursorExtent(CXCursor cursor);
    [DllImport(Library)] public static extern int clang_Location_isFromMainFile(CXSourceLocation location);
    [DllImport(Library)] public static extern int clang_Cursor_getNumArguments(CXCursor cursor);
    [DllImport(Library)] public static extern CXCursor clang_Cursor_getArgument(CXCursor cursor, uint index);
    [DllImport(Library)] public static extern long clang_Cursor_getOffsetOfField(CXCursor cursor);
    [DllImport(Library)] public static extern uint clang_Cursor_isBitField(CXCursor cursor);
    [DllImport(Library)] public static extern uint clang_Cursor_isAnonymous(CXCursor cursor);
    [DllImport(Library)] public static extern uint clang_Cursor_isMacroFunctionLike(CXCursor cursor);
    [DllImport(Library)] public static extern int clang_Cursor_getStorageClass(CXCursor cursor);
    [DllImport(Library)] public static extern long clang_getEnumConstantDeclValue(CXCursor cursor);
    [DllImport(Library)] public static extern ulong clang_getEnumConstantDeclUnsignedValue(CXCursor cursor);
    [DllImport(Library)] public static extern CXType clang_getEnumDeclIntegerType(CXCursor cursor);
    [DllImport(Library)] public static extern CXType clang_getTypedefDeclUnderlyingType(CXCursor cursor);

    [DllImport(Library)] public static extern CXString clang_getTypeSpelling(CXType type);
    [DllImport(Library)] public static extern CXType clang_getCanonicalType(CXType type);
    [DllImport(Library)] public static extern CXType clang_getPointeeType(CXType type);
    [DllImport(Library)] public static extern CXType clang_Type_getNamedType(CXType type);
    [DllImport(Library)] public static extern CXCursor clang_getTypeDeclaration(CXType type);
    [DllImport(Library)] public static extern long clang_Type_getSizeOf(CXType type);
    [DllImport(Library)] public static extern long clang_Type_getAlignOf(CXType type);
    [DllImport(Library)] public static extern CXType clang_getResultType(CXType type);
    [DllImport(Library)] public static extern int clang_getNumArgTypes(CXType type);
    [DllImport(Library)] public static extern CXType clang_getArgType(CXType type, uint index);
    [DllImport(Library)] public static extern uint clang_isFunctionTypeVariadic(CXType type);
    [DllImport(Library)] public static extern long clang_getArraySize(CXType type);
    [DllImport(Library)] public static extern CXType clang_getArrayElementType(CXType type);

    [DllImport(Library)] public static extern void* clang_Cursor_Evaluate(CXCursor cursor);
    [DllImport(Library)] public static extern CXEvalResultKind clang_EvalResult_getKind(void* result);
    [DllImport(Library)] public static extern uint clang_EvalResult_isUnsignedInt(void* result);
    [DllImport(Library)] public static extern long clang_EvalResult_getAsLongLong(void* result);
    [DllImport(Library)] public static extern ulong clang_EvalResult_getAsUnsigned(void* result);
    [DllImport(Library)] public static extern void clang_EvalResult_dispose(void* result);

    [DllImport(Library)] public static extern void clang_tokenize(void* tu, CXSourceRange range, CXToken** tokens, uint* numTokens);
    [DllImport(Library)] public static extern void clang_disposeTokens(void* tu, CXToken* tokens, uint numTokens);
    [DllImport(Library)] public static extern CXTokenKind clang_getTokenKind(CXToken token);
    [DllImport(Library)] public static extern CXString clang_getTokenSpelling(void* tu, CXToken token);
    [DllImport(Library)] public static extern CXSourceRange clang_getTokenExtent(void* tu, CXToken token);
    [DllImport(Library)] public static extern CXSourceLocation clang_getRangeStart(CXSourceRange range);
    [DllImport(Library)] public static extern CXSourceLocation clang_getRangeEnd(CXSourceRange range);
    [DllImport(Library)]
    public static extern void clang_getSpellingLocation(CXSourceLocation location, void** file, uint* line, uint* column, uint* offset);

    [DllImport(Library)] public static extern CXString clang_getFileName(void* file);
    [DllImport(Library)] public static extern byte* clang_getCString(CXString text);
    [DllImport(Library)] public static extern void clang_disposeString(CXString text);
}
