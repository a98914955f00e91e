using System.Globalization;

namespace IocpHybrid.Generator.Reading;

// C integer literal tokens (as libclang's lexer returns them) in C# spelling: the same digits,
// suffixes upper-cased (u -> U, l/ll -> L). Octal, character and floating literals are left out
// (null): the caller then writes the evaluated value instead.
internal static class CLiteral
{
    public static bool TryParse(string literal, out string digits, out bool unsigned, out bool isLong, out ulong value)
    {
        int end = literal.Length;
        while (end > 0 && "uUlL".Contains(literal[end - 1], StringComparison.Ordinal))
        {
            end--;
        }

        string suffix = literal[end..].ToLowerInvariant();
        digits = literal[..end];
        unsigned = suffix.Contains('u', StringComparison.Ordinal);
        isLong = suffix.Contains('l', StringComparison.Ordinal);
        value = 0;
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            digits = "0x" + digits[2..];
            return digits.Length > 2 && ulong.TryParse(digits.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }

        if (digits.Length > 1 && digits[0] == '0')
        {
            return false; // octal (or binary): C# has no octal literals
        }

        return digits.Length > 0 && digits.All(char.IsAsciiDigit) &&
               ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    public static string WithSuffix(string digits, bool unsigned, bool isLong) =>
        digits + (unsigned ? "U" : "") + (isLong ? "L" : "");

    // The evaluated value as a C# literal of type csType: hex when the C source wrote hex.
    public static string Format(ulong value, string csType, bool preferHex)
    {
        bool unsigned = TypeMapper.IsUnsigned(csType);
        string suffix = unsigned ? (csType == "ulong" ? "UL" : "U") : "";
        long signed = unchecked((long)value);
        if (!unsigned && signed < 0)
        {
            return signed == long.MinValue ? "long.MinValue" : signed.ToString(CultureInfo.InvariantCulture);
        }

        return (preferHex ? "0x" + value.ToString("X", CultureInfo.InvariantCulture) : value.ToString(CultureInfo.InvariantCulture)) + suffix;
    }
}
