namespace IocpHybrid.Generator.Clang;

// One token of a source range, as libclang's lexer sees it, with its byte offsets in the file.
internal sealed record Token(CXTokenKind Kind, string Spelling, uint Start, uint End);

internal static unsafe class Tokens
{
    public static List<Token> Of(void* tu, CXSourceRange range)
    {
        CXToken* tokens;
        uint count;
        LibClang.clang_tokenize(tu, range, &tokens, &count);
        var result = new List<Token>((int)count);
        try
        {
            for (uint i = 0; i < count; i++)
            {
                CXSourceRange extent = LibClang.clang_getTokenExtent(tu, tokens[i]);
                result.Add(new Token(
                    LibClang.clang_getTokenKind(tokens[i]),
                    ClangText.Take(LibClang.clang_getTokenSpelling(tu, tokens[i])),
                    Cursors.Offset(LibClang.clang_getRangeStart(extent)),
                    Cursors.Offset(LibClang.clang_getRangeEnd(extent))));
            }
        }
        finally
        {
            if (tokens != null)
            {
                LibClang.clang_disposeTokens(tu, tokens, count);
            }
        }

        return result;
    }
}
