using IocpHybrid.Generator.Clang;
using IocpHybrid.Generator.Model;

namespace IocpHybrid.Generator.Reading;

// An exported function: C name, mapped return and parameter types, C parameter names
// (C# keywords escaped with @, unnamed ones called paramN as ClangSharp does).
internal static class FunctionReader
{
    private static readonly HashSet<string> s_keywords =
    [
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
        "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern",
        "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface",
        "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out", "override",
        "params", "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed", "short",
        "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try", "typeof",
        "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while",
    ];

    public static FunctionDef Read(CXCursor cursor, TypeMapper mapper)
    {
        string name = Cursors.Spelling(cursor);
        if (LibClang.clang_isFunctionTypeVariadic(LibClang.clang_getCursorType(cursor)) != 0)
        {
            throw new GeneratorException($"function {name}: variadic functions are not supported");
        }

        var parameters = new List<ParamDef>();
        int count = LibClang.clang_Cursor_getNumArguments(cursor);
        for (uint i = 0; i < count; i++)
        {
            CXCursor parameter = LibClang.clang_Cursor_getArgument(cursor, i);
            string parameterName = Cursors.Spelling(parameter);
            parameterName = parameterName.Length == 0 ? $"param{i}" : Escape(parameterName);
            parameters.Add(new ParamDef(parameterName, mapper.Map(LibClang.clang_getCursorType(parameter), $"{name}({parameterName})")));
        }

        return new FunctionDef(name, mapper.Map(LibClang.clang_getCursorResultType(cursor), $"{name} result"), parameters);
    }

    public static string Escape(string identifier) => s_keywords.Contains(identifier) ? "@" + identifier : identifier;
}
