using IocpHybrid.Generator.Clang;
using IocpHybrid.Generator.Model;

namespace IocpHybrid.Generator.Reading;

// An enum's constants with libclang's values; a simple literal initializer keeps its spelling
// (so flags stay in hex), anything else is written as the evaluated value.
internal static unsafe class EnumReader
{
    public static EnumDef Read(TranslationUnit tu, CXCursor cursor, string name)
    {
        string underlying = TypeMapper.Primitive(LibClang.clang_getEnumDeclIntegerType(cursor), $"enum {name}");
        bool unsigned = TypeMapper.IsUnsigned(underlying);
        var constants = new List<EnumConstant>();
        foreach (CXCursor child in Cursors.Children(cursor))
        {
            if (child.Kind != CXCursorKind.EnumConstantDecl)
            {
                continue;
            }

            long value = unsigned
                ? unchecked((long)LibClang.clang_getEnumConstantDeclUnsignedValue(child))
                : LibClang.clang_getEnumConstantDeclValue(child);
            string constantName = Cursors.Spelling(child);
            constants.Add(new EnumConstant(constantName, ValueText(tu, child, value, underlying), value));
        }

        // C gives enum constants the type int (C11 6.7.2.2) while clang reports unsigned int as the
        // enum's type when no constant is negative: int whenever every value fits, as the C constants are.
        bool fitsInt = constants.All(c => c.Value is >= int.MinValue and <= int.MaxValue);
        return new EnumDef(name, fitsInt ? null : underlying, constants);
    }

    private static string ValueText(TranslationUnit tu, CXCursor constant, long value, string underlying)
    {
        List<Token> tokens = Tokens.Of(tu.Handle, LibClang.clang_getCursorExtent(constant));
        int eq = tokens.FindIndex(t => t.Kind == CXTokenKind.Punctuation && t.Spelling == "=");
        if (eq >= 0)
        {
            List<Token> init = tokens[(eq + 1)..];
            bool negative = init.Count == 2 && init[0].Spelling == "-";
            Token? literal = init.Count == 1 ? init[0] : negative ? init[1] : null;
            if (literal is { Kind: CXTokenKind.Literal } &&
                CLiteral.TryParse(literal.Spelling, out string digits, out _, out _, out ulong parsed) &&
                (negative ? unchecked(-(long)parsed) : unchecked((long)parsed)) == value &&
                (negative || parsed <= long.MaxValue))
            {
                return (negative ? "-" : "") + digits;
            }
        }

        return CLiteral.Format(unchecked((ulong)value), underlying, preferHex: false).TrimEnd('U', 'L');
    }
}
