using IocpHybrid.Generator.Clang;
using IocpHybrid.Generator.Model;

namespace IocpHybrid.Generator.Reading;

// A struct's fields with libclang's offsets. Refuses what a plain sequential C# struct can't
// mirror (unions, bit-fields, nested records, packed or over-aligned layouts).
internal static class StructReader
{
    public static StructDef Read(CXCursor cursor, string name, string cName, TypeMapper mapper)
    {
        if (cursor.Kind == CXCursorKind.UnionDecl)
        {
            throw new GeneratorException($"union {name}: unions are not supported");
        }

        CXType type = LibClang.clang_getCursorType(cursor);
        long size = LibClang.clang_Type_getSizeOf(type);
        if (size < 0)
        {
            return new StructDef(name, cName, -1, -1, []);
        }

        long align = LibClang.clang_Type_getAlignOf(type);
        var fields = new List<FieldDef>();
        long expected = 0;
        long maxAlign = 1;
        foreach (CXCursor child in Cursors.Children(cursor))
        {
            if (child.Kind is CXCursorKind.StructDecl or CXCursorKind.UnionDecl or CXCursorKind.EnumDecl)
            {
                throw new GeneratorException($"struct {name}: nested struct, union or enum declarations are not supported");
            }

            if (child.Kind != CXCursorKind.FieldDecl)
            {
                continue;
            }

            string fieldName = Cursors.Spelling(child);
            if (LibClang.clang_Cursor_isBitField(child) != 0)
            {
                throw new GeneratorException($"struct {name}: bit-field {fieldName} is not supported");
            }

            CXType fieldType = LibClang.clang_getCursorType(child);
            long fieldSize = LibClang.clang_Type_getSizeOf(fieldType);
            long fieldAlign = LibClang.clang_Type_getAlignOf(fieldType);
            long offset = LibClang.clang_Cursor_getOffsetOfField(child) / 8;
            expected = AlignUp(expected, fieldAlign);
            if (fieldSize < 0 || fieldAlign <= 0 || offset != expected)
            {
                throw new GeneratorException($"struct {name}: field {fieldName} is at offset {offset}, natural layout puts it at {expected} (packing is not supported)");
            }

            expected = offset + fieldSize;
            maxAlign = Math.Max(maxAlign, fieldAlign);
            fields.Add(new FieldDef(fieldName, mapper.Map(fieldType, $"{name}.{fieldName}"), offset, fieldSize));
        }

        if (align != maxAlign || size != AlignUp(expected, maxAlign))
        {
            throw new GeneratorException($"struct {name}: size {size} / alignment {align} differ from the natural layout (packing or alignment attributes are not supported)");
        }

        if (fields.Count == 0)
        {
            throw new GeneratorException($"struct {name}: empty structs are not supported");
        }

        return new StructDef(name, cName, size, align, fields);
    }

    private static long AlignUp(long value, long align) => (value + align - 1) / align * align;
}
