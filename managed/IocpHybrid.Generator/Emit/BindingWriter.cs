using IocpHybrid.Generator.Model;
using IocpHybrid.Generator.Reading;

namespace IocpHybrid.Generator.Emit;

// The C# binding in ClangSharp's multi-file layout: one file per struct and enum, the methods
// class with [DllImport] externs and macro constants, and the NativeTypeName attribute.
internal sealed class BindingWriter(Options options, string header)
{
    private bool FileScoped => options.Config.Contains("generate-file-scoped-namespaces");

    public Dictionary<string, string> Write(NativeApi api)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (StructDef def in api.Structs)
        {
            files[def.Name + ".cs"] = Struct(def);
        }

        foreach (EnumDef def in api.Enums)
        {
            files[def.Name + ".cs"] = Enum(def);
        }

        files[options.MethodClassName + ".cs"] = Methods(api);
        files["NativeTypeNameAttribute.cs"] = NativeTypeNameAttribute();
        return files;
    }

    private string Struct(StructDef def)
    {
        CodeBuilder code = CSharpFile.Begin(header, options.Namespace, FileScoped);
        bool isUnsafe = def.Fields.Any(f => f.Type.IsUnsafe);
        code.Line($"{options.TypeAccess} {(isUnsafe ? "unsafe " : "")}partial struct {def.Name}").Open();
        for (int i = 0; i < def.Fields.Count; i++)
        {
            FieldDef field = def.Fields[i];
            if (i > 0)
            {
                code.Line();
            }

            NativeTypeName(code, field.Type.NativeName, "");
            string name = FunctionReader.Escape(field.Name);
            code.Line(field.Type.FixedLength is long length
                ? $"public fixed {field.Type.CSharp} {name}[{length}];"
                : $"public {field.Type.CSharp} {name};");
        }

        code.Close();
        return CSharpFile.End(code, FileScoped);
    }

    private string Enum(EnumDef def)
    {
        CodeBuilder code = CSharpFile.Begin(header, options.Namespace, FileScoped);
        code.Line($"{options.TypeAccess} enum {def.Name}{(def.BaseType is null ? "" : " : " + def.BaseType)}").Open();
        foreach (EnumConstant constant in def.Constants)
        {
            code.Line($"{constant.Name} = {constant.ValueText},");
        }

        code.Close();
        return CSharpFile.End(code, FileScoped);
    }

    private string Methods(NativeApi api)
    {
        CodeBuilder code = CSharpFile.Begin(header, options.Namespace, FileScoped, "System.Runtime.InteropServices");
        code.Line($"{options.TypeAccess} static unsafe partial class {options.MethodClassName}").Open();
        bool first = true;
        foreach (FunctionDef function in api.Functions)
        {
            Separate(code, ref first);
            code.Line($"[DllImport({CodeBuilder.Quote(options.LibraryPath)}, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]");
            NativeTypeName(code, function.Return.NativeName, "return: ");
            string parameters = string.Join(", ", function.Params.Select(p =>
                (p.Type.NativeName is null ? "" : $"[NativeTypeName({CodeBuilder.Quote(p.Type.NativeName)})] ") + $"{p.Type.CSharp} {p.Name}"));
            code.Line($"public static extern {function.Return.CSharp} {function.Name}({parameters});");
        }

        foreach (ConstantDef constant in api.Constants)
        {
            Separate(code, ref first);
            NativeTypeName(code, "#define " + constant.Definition, "");
            code.Line($"public const {constant.CSharpType} {constant.Name} = {constant.ValueText};");
        }

        code.Close();
        return CSharpFile.End(code, FileScoped);
    }

    private string NativeTypeNameAttribute()
    {
        CodeBuilder code = CSharpFile.Begin(header, options.Namespace, FileScoped, "System", "System.Diagnostics");
        code.Line("/// <summary>Defines the type of a member as it was used in the native signature.</summary>");
        code.Line("[AttributeUsage(AttributeTargets.Struct | AttributeTargets.Enum | AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Parameter | AttributeTargets.ReturnValue, AllowMultiple = false, Inherited = true)]");
        code.Line("[Conditional(\"DEBUG\")]");
        code.Line("internal sealed partial class NativeTypeNameAttribute : Attribute").Open();
        code.Line("private readonly string _name;").Line();
        code.Line("/// <summary>Initializes a new instance of the <see cref=\"NativeTypeNameAttribute\" /> class.</summary>");
        code.Line("/// <param name=\"name\">The name of the type that was used in the native signature.</param>");
        code.Line("public NativeTypeNameAttribute(string name)").Open().Line("_name = name;").Close().Line();
        code.Line("/// <summary>Gets the name of the type that was used in the native signature.</summary>");
        code.Line("public string Name => _name;");
        code.Close();
        return CSharpFile.End(code, FileScoped);
    }

    private static void NativeTypeName(CodeBuilder code, string? nativeName, string target)
    {
        if (nativeName is not null)
        {
            code.Line($"[{target}NativeTypeName({CodeBuilder.Quote(nativeName)})]");
        }
    }

    private static void Separate(CodeBuilder code, ref bool first)
    {
        if (!first)
        {
            code.Line();
        }

        first = false;
    }
}
