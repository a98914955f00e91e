namespace IocpHybrid.Generator.Model;

// What the header declares, already mapped to C#: the single input of every emitter.
internal sealed record NativeApi(
    string Target,
    List<StructDef> Structs,
    List<EnumDef> Enums,
    List<FunctionDef> Functions,
    List<ConstantDef> Constants);

// A C type as C# spells it. NativeName is the C spelling when it differs (for [NativeTypeName]).
// FixedLength is set for a fixed-size array field (CSharp is then the element type).
internal sealed record MappedType(string CSharp, string? NativeName, bool IsUnsafe, long? FixedLength = null);

internal sealed record FieldDef(string Name, MappedType Type, long Offset, long Size);

// Size < 0: an opaque (incomplete) struct, emitted empty and only used through pointers.
// CName is how C code names the type: the typedef name, or "struct tag" when there is no typedef.
internal sealed record StructDef(string Name, string CName, long Size, long Align, List<FieldDef> Fields)
{
    public bool IsOpaque => Size < 0;
}

internal sealed record EnumConstant(string Name, string ValueText, long Value);

// BaseType is null for int (C#'s default).
internal sealed record EnumDef(string Name, string? BaseType, List<EnumConstant> Constants);

internal sealed record ParamDef(string Name, MappedType Type);

internal sealed record FunctionDef(string Name, MappedType Return, List<ParamDef> Params);

// A macro constant: Definition is the source text after #define, ValueText a C# expression
// whose value is Value (as the low 64 bits, two's complement).
internal sealed record ConstantDef(string Name, string CSharpType, string Definition, string ValueText, ulong Value, bool IsUnsigned);
