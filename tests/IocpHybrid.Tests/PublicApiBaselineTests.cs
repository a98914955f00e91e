using System.Reflection;
using System.Text;

namespace IocpHybrid.Tests;

/// <summary>
/// The public surface of each shipped assembly, listed in docs/api/&lt;assembly&gt;.txt: a change of the
/// public API shows in review as a change of that file. When this test fails, it writes the listing it
/// found next to itself (docs/api/&lt;assembly&gt;.actual.txt under the test output) and names it: copy it over the
/// baseline if the change is meant.
/// </summary>
public sealed class PublicApiBaselineTests
{
    public static TheoryData<string> Assemblies => new() { "IocpHybrid", "IocpHybrid.AspNetCore" };

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void ThePublicSurfaceIsTheBaseline(string assemblyName)
    {
        Assembly assembly = assemblyName == "IocpHybrid" ? typeof(CompletionPort).Assembly : typeof(IocpHybrid.AspNetCore.IocpHybridTransportFactory).Assembly;
        string actual = Listing(assembly);
        string baselinePath = Path.Combine(AppContext.BaseDirectory, "api", assemblyName + ".txt");
        string baseline = File.Exists(baselinePath) ? File.ReadAllText(baselinePath).ReplaceLineEndings("\n") : string.Empty;
        if (actual != baseline)
        {
            string written = Path.Combine(AppContext.BaseDirectory, "api", assemblyName + ".actual.txt");
            Directory.CreateDirectory(Path.GetDirectoryName(written)!);
            File.WriteAllText(written, actual);
            string[] added = actual.Split('\n').Except(baseline.Split('\n')).ToArray();
            string[] removed = baseline.Split('\n').Except(actual.Split('\n')).ToArray();
            Assert.Fail(
                $"The public API of {assemblyName} differs from docs/api/{assemblyName}.txt; the listing found is in {written}.\n" +
                $"added:\n  {string.Join("\n  ", added)}\nremoved:\n  {string.Join("\n  ", removed)}");
        }
    }

    /// <summary>One line per public type (kind, name, base and interfaces) and per public member (signature), sorted.</summary>
    internal static string Listing(Assembly assembly)
    {
        const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var lines = new List<string>();
        foreach (Type type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            var header = new StringBuilder();
            header.Append(Kind(type)).Append(' ').Append(type.FullName);
            var bases = new List<string>();
            if (type.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum))
            {
                bases.Add(Name(b));
            }

            bases.AddRange(type.GetInterfaces().Select(Name).Order(StringComparer.Ordinal));
            if (bases.Count > 0)
            {
                header.Append(" : ").Append(string.Join(", ", bases));
            }

            lines.Add(header.ToString());
            var members = new List<string>();
            if (type.IsEnum)
            {
                members.AddRange(type.GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => $"  {f.Name} = {Convert.ToInt64(f.GetRawConstantValue(), System.Globalization.CultureInfo.InvariantCulture)}"));
            }
            else
            {
                members.AddRange(type.GetFields(flags).Select(f => $"  {(f.IsLiteral ? "const " : f.IsStatic ? "static " : string.Empty)}{Name(f.FieldType)} {f.Name}"));
                members.AddRange(type.GetConstructors(flags).Select(c => $"  {PublicSurfaceTests.Key(c)}"));
                members.AddRange(type.GetMethods(flags).Select(m => $"  {(m.IsStatic ? "static " : string.Empty)}{Name(m.ReturnType)} {PublicSurfaceTests.Key(m)}"));
                members.AddRange(type.GetEvents(flags).Select(e => $"  event {Name(e.EventHandlerType!)} {e.Name}"));
            }

            lines.AddRange(members.Order(StringComparer.Ordinal));
        }

        return string.Join("\n", lines) + "\n";
    }

    private static string Kind(Type t) =>
        t.IsEnum ? "enum" : t.IsInterface ? "interface" : t.IsValueType ? "struct" : t.IsAbstract && t.IsSealed ? "static class" : t.IsSealed ? "sealed class" : t.IsAbstract ? "abstract class" : "class";

    private static string Name(Type t) =>
        t.IsGenericType ? $"{t.Name[..t.Name.IndexOf('`')]}<{string.Join(",", t.GetGenericArguments().Select(Name))}>" : t.IsArray ? Name(t.GetElementType()!) + "[]" : t.Name;
}
