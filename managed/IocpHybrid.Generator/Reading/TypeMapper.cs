using IocpHybrid.Generator.Clang;
using IocpHybrid.Generator.Model;

namespace IocpHybrid.Generator.Reading;

// Maps a libclang type to its blittable C# spelling, as ClangSharp does: fixed-width integers by
// size and signedness, pointers as T*, function pointers as delegate* unmanaged[Cdecl]<...>,
// structs and enums of the header by their C name. [NativeTypeName] is kept when the C spelling
// differs from the C# one (whitespace ignored).
internal sealed class TypeMapper(IReadOnlyDictionary<string, string> declaredNames)
{
    public MappedType Map(CXType type, string context)
    {
        string native = ClangText.Take(LibClang.clang_getTypeSpelling(type));
        if (type.Kind == CXTypeKind.ConstantArray)
        {
            CXType element = LibClang.clang_getArrayElementType(type);
            string elementCs = MapCore(element, context, out _);
            if (!IsPrimitive(elementCs))
            {
                throw new GeneratorException($"{context}: arrays of {elementCs} are not supported (only arrays of integer or floating types)");
            }

            return new MappedType(elementCs, native, true, LibClang.clang_getArraySize(type));
        }

        string cs = MapCore(type, context, out bool isUnsafe);
        return new MappedType(cs, Normalize(native) == Normalize(cs) ? null : native, isUnsafe);
    }

    private string MapCore(CXType type, string context, out bool isUnsafe)
    {
        isUnsafe = false;
        switch (type.Kind)
        {
            case CXTypeKind.Elaborated:
                return MapCore(LibClang.clang_Type_getNamedType(type), context, out isUnsafe);
            case CXTypeKind.Typedef:
            case CXTypeKind.Record:
            case CXTypeKind.Enum:
                CXType canonical = LibClang.clang_getCanonicalType(type);
                if (canonical.Kind is CXTypeKind.Record or CXTypeKind.Enum)
                {
                    return DeclaredName(canonical, context);
                }

                return MapCore(canonical, context, out isUnsafe);
            case CXTypeKind.Pointer:
                isUnsafe = true;
                CXType pointee = LibClang.clang_getCanonicalType(LibClang.clang_getPointeeType(type));
                if (pointee.Kind == CXTypeKind.FunctionProto)
                {
                    return FunctionPointer(pointee, context);
                }

                if (pointee.Kind == CXTypeKind.FunctionNoProto)
                {
                    throw new GeneratorException($"{context}: a function pointer without a prototype; write (void) for no parameters");
                }

                return MapCore(LibClang.clang_getPointeeType(type), context, out _) + "*";
            default:
                return Primitive(type, context);
        }
    }

    private string FunctionPointer(CXType function, string context)
    {
        if (LibClang.clang_isFunctionTypeVariadic(function) != 0)
        {
            throw new GeneratorException($"{context}: variadic function pointers are not supported");
        }

        var parts = new List<string>();
        int count = LibClang.clang_getNumArgTypes(function);
        for (uint i = 0; i < count; i++)
        {
            parts.Add(MapCore(LibClang.clang_getArgType(function, i), context, out _));
        }

        parts.Add(MapCore(LibClang.clang_getResultType(function), context, out _));
        return $"delegate* unmanaged[Cdecl]<{string.Join(", ", parts)}>";
    }

    private string DeclaredName(CXType canonical, string context)
    {
        string usr = Cursors.Usr(LibClang.clang_getTypeDeclaration(canonical));
        if (declaredNames.TryGetValue(usr, out string? name))
        {
            return name;
        }

        string spelling = ClangText.Take(LibClang.clang_getTypeSpelling(canonical));
        throw new GeneratorException($"{context}: {spelling} is not declared in the traversed header");
    }

    public static string Primitive(CXType type, string context)
    {
        long size = LibClang.clang_Type_getSizeOf(type);
        switch (type.Kind)
        {
            case CXTypeKind.Void:
                return "void";
            case CXTypeKind.Bool:
                return "byte";
            case CXTypeKind.Char_S or CXTypeKind.SChar:
                return "sbyte";
            case CXTypeKind.Char_U or CXTypeKind.UChar:
                return "byte";
            case CXTypeKind.Short or CXTypeKind.Int or CXTypeKind.Long or CXTypeKind.LongLong or CXTypeKind.WChar:
                return size switch { 1 => "sbyte", 2 => "short", 4 => "int", 8 => "long", _ => Unsupported(type, context) };
            case CXTypeKind.UShort or CXTypeKind.UInt or CXTypeKind.ULong or CXTypeKind.ULongLong
                or CXTypeKind.Char16 or CXTypeKind.Char32:
                return size switch { 1 => "byte", 2 => "ushort", 4 => "uint", 8 => "ulong", _ => Unsupported(type, context) };
            case CXTypeKind.Float:
                return "float";
            case CXTypeKind.Double:
                return "double";
            default:
                return Unsupported(type, context);
        }
    }

    public static bool IsPrimitive(string cs) =>
        cs is "sbyte" or "byte" or "short" or "ushort" or "int" or "uint" or "long" or "ulong" or "float" or "double";

    public static bool IsUnsigned(string cs) => cs is "byte" or "ushort" or "uint" or "ulong";

    private static string Unsupported(CXType type, string context) =>
        throw new GeneratorException($"{context}: type {ClangText.Take(LibClang.clang_getTypeSpelling(type))} " +
                                     $"(kind {type.Kind}) has no blittable C# mapping here");

    private static string Normalize(string text) => string.Concat(text.Where(c => !char.IsWhiteSpace(c)));
}
