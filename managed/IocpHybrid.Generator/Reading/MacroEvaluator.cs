using System.Text;
using IocpHybrid.Generator.Clang;
using IocpHybrid.Generator.Model;

namespace IocpHybrid.Generator.Reading;

// Object-like macros of the header become constants (ClangSharp's generate-macro-bindings).
// Like ClangSharp, each macro is evaluated by clang itself: a second, in-memory file includes the
// header and declares `static const __typeof__(M) v = (M);`; libclang evaluates v and its type
// gives the C# type. Macros that are not integer constant expressions are skipped (noted on stderr).
internal static unsafe class MacroEvaluator
{
    private const string Prefix = "iocph__generator_macro_";

    internal sealed record Candidate(string Name, List<Token> Body, string Definition);

    public static Candidate? Describe(TranslationUnit tu, CXCursor macro)
    {
        if (LibClang.clang_Cursor_isMacroFunctionLike(macro) != 0)
        {
            return null;
        }

        List<Token> tokens = Tokens.Of(tu.Handle, LibClang.clang_getCursorExtent(macro));
        if (tokens.Count < 2)
        {
            return null; // include guards and empty macros
        }

        var definition = new StringBuilder(tokens[0].Spelling);
        for (int i = 1; i < tokens.Count; i++)
        {
            definition.Append(' ', tokens[i].Start > tokens[i - 1].End ? 1 : 0).Append(tokens[i].Spelling);
        }

        return new Candidate(tokens[0].Spelling, tokens[1..], definition.ToString());
    }

    public static List<ConstantDef> Evaluate(string header, List<string> args, List<Candidate> candidates, bool reportSkipped)
    {
        if (candidates.Count == 0)
        {
            return [];
        }

        var source = new StringBuilder();
        source.Append("#include \"").Append(header.Replace("\\", "/", StringComparison.Ordinal)).Append("\"\n");
        foreach (Candidate candidate in candidates)
        {
            source.Append("static const __typeof__(").Append(candidate.Name).Append(") ")
                  .Append(Prefix).Append(candidate.Name).Append(" = (").Append(candidate.Name).Append(");\n");
        }

        string path = Path.Combine(Path.GetDirectoryName(header)!, "__iocph_generator_macros.c");
        using TranslationUnit tu = TranslationUnit.Parse(path, args, source.ToString(), LibClang.SkipFunctionBodies);
        var byName = candidates.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var constants = new List<ConstantDef>();
        foreach (CXCursor cursor in Cursors.Children(tu.Cursor))
        {
            string spelling = cursor.Kind == CXCursorKind.VarDecl ? Cursors.Spelling(cursor) : "";
            if (!spelling.StartsWith(Prefix, StringComparison.Ordinal) || !Cursors.IsFromMainFile(cursor))
            {
                continue;
            }

            Candidate candidate = byName[spelling[Prefix.Length..]];
            ConstantDef? constant = EvaluateOne(cursor, candidate);
            if (constant is null && reportSkipped)
            {
                Console.Error.WriteLine($"note: macro {candidate.Name} is not an integer constant; skipped");
            }
            else if (constant is not null)
            {
                constants.Add(constant);
            }

            byName.Remove(candidate.Name);
        }

        foreach (string skipped in byName.Keys.Where(_ => reportSkipped).Order(StringComparer.Ordinal))
        {
            Console.Error.WriteLine($"note: macro {skipped} is not an expression; skipped");
        }

        return constants;
    }

    private static ConstantDef? EvaluateOne(CXCursor variable, Candidate candidate)
    {
        CXType type = LibClang.clang_getCanonicalType(LibClang.clang_getCursorType(variable));
        if (type.Kind is CXTypeKind.Pointer or CXTypeKind.Float or CXTypeKind.Double or CXTypeKind.Invalid
            or CXTypeKind.Record or CXTypeKind.ConstantArray)
        {
            return null;
        }

        void* result = LibClang.clang_Cursor_Evaluate(variable);
        if (result == null)
        {
            return null;
        }

        try
        {
            if (LibClang.clang_EvalResult_getKind(result) != CXEvalResultKind.Int)
            {
                return null;
            }

            string csType = type.Kind == CXTypeKind.Enum ? "int" : TypeMapper.Primitive(type, $"macro {candidate.Name}");
            bool unsigned = TypeMapper.IsUnsigned(csType);
            ulong value = unsigned
                ? LibClang.clang_EvalResult_getAsUnsigned(result)
                : unchecked((ulong)LibClang.clang_EvalResult_getAsLongLong(result));
            return new ConstantDef(candidate.Name, csType, candidate.Definition, ValueText(candidate, value, csType), value, unsigned);
        }
        finally
        {
            LibClang.clang_EvalResult_dispose(result);
        }
    }

    // A single integer literal keeps its spelling; any other expression is written as its value.
    private static string ValueText(Candidate candidate, ulong value, string csType)
    {
        List<Token> body = candidate.Body;
        bool hex = body.Any(t => t.Kind == CXTokenKind.Literal && t.Spelling.StartsWith("0x", StringComparison.OrdinalIgnoreCase));
        if (body is [{ Kind: CXTokenKind.Literal } literal] &&
            CLiteral.TryParse(literal.Spelling, out string digits, out bool u, out bool l, out ulong parsed) && parsed == value)
        {
            return CLiteral.WithSuffix(digits, u, l);
        }

        return CLiteral.Format(value, csType, hex);
    }
}
