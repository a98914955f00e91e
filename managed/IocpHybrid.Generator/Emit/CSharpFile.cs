namespace IocpHybrid.Generator.Emit;

// The frame shared by every generated C# file: header text, usings, namespace.
internal static class CSharpFile
{
    public static CodeBuilder Begin(string header, string ns, bool fileScoped, params string[] usings)
    {
        // Generated members carry no XML docs; projects that require them (CS1591) still compile.
        var code = new CodeBuilder().Raw(header).Line("#pragma warning disable CS1591").Line();
        foreach (string import in usings)
        {
            code.Line($"using {import};");
        }

        if (usings.Length > 0)
        {
            code.Line();
        }

        code.Line(fileScoped ? $"namespace {ns};" : $"namespace {ns}");
        if (fileScoped)
        {
            code.Line();
        }
        else
        {
            code.Open();
        }

        return code;
    }

    public static string End(CodeBuilder code, bool fileScoped)
    {
        if (!fileScoped)
        {
            code.Close();
        }

        return code.ToString();
    }
}
