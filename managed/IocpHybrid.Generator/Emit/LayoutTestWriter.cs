using System.Globalization;
using IocpHybrid.Generator.Model;
using IocpHybrid.Generator.Reading;

namespace IocpHybrid.Generator.Emit;

// xunit.v3 tests: sizeof and every field offset of each generated struct, measured on a local
// (the layout the runtime really uses), equal libclang's numbers; macro constants and enum
// members equal clang's evaluated values.
internal sealed class LayoutTestWriter(Options options, string header)
{
    public string Write(NativeApi api, IReadOnlyList<string> targets)
    {
        string ns = options.LayoutTestNamespace ?? "IocpHybrid.Tests.Generated";
        CodeBuilder code = CSharpFile.Begin(header, ns, fileScoped: true,
            "System", "System.Runtime.InteropServices", options.Namespace, "Xunit");
        code.Line("// Expected numbers: libclang's layout for " + string.Join(" and ", targets) + " (the generator");
        code.Line("// fails when the targets disagree). tests/native/test_layout.c checks the same numbers with gcc and mingw-w64.");
        code.Line("public sealed unsafe class LayoutTests").Open();
        bool first = true;
        foreach (StructDef def in api.Structs.Where(s => !s.IsOpaque))
        {
            Separate(code, ref first);
            code.Line("[Fact]");
            code.Line($"public void {def.Name}_has_the_C_layout()").Open();
            code.Line($"Assert.Equal({def.Size}, sizeof({def.Name}));");
            code.Line($"Assert.Equal({def.Size}, Marshal.SizeOf<{def.Name}>());");
            code.Line($"{def.Name} value = default;");
            code.Line("byte* start = (byte*)&value;");
            foreach (FieldDef field in def.Fields)
            {
                string name = FunctionReader.Escape(field.Name);
                string address = field.Type.FixedLength is null ? $"(byte*)&value.{name}" : $"(byte*)value.{name}";
                code.Line($"Assert.Equal({field.Offset}, {address} - start);");
            }

            code.Close();
        }

        if (api.Constants.Count > 0)
        {
            Separate(code, ref first);
            code.Line("[Fact]");
            code.Line("public void Constants_have_the_C_values()").Open();
            foreach (ConstantDef constant in api.Constants)
            {
                string expected = CLiteral.Format(constant.Value, constant.CSharpType, preferHex: false);
                code.Line($"Assert.Equal<{constant.CSharpType}>({expected}, {options.MethodClassName}.{constant.Name});");
            }

            code.Close();
        }

        foreach (EnumDef def in api.Enums)
        {
            Separate(code, ref first);
            string baseType = def.BaseType ?? "int";
            code.Line("[Fact]");
            code.Line($"public void {def.Name}_has_the_C_values()").Open();
            code.Line($"Assert.Equal({def.Constants.Count}, Enum.GetNames<{def.Name}>().Length);");
            foreach (EnumConstant constant in def.Constants)
            {
                string expected = CLiteral.Format(unchecked((ulong)constant.Value), baseType, preferHex: false);
                code.Line($"Assert.Equal<{baseType}>({expected}, ({baseType}){def.Name}.{constant.Name});");
            }

            code.Close();
        }

        code.Close();
        return code.ToString();
    }

    private static void Separate(CodeBuilder code, ref bool first)
    {
        if (!first)
        {
            code.Line();
        }

        first = false;
    }

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
