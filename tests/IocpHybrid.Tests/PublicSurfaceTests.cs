using System.Reflection;
using System.Xml.Linq;

namespace IocpHybrid.Tests;

/// <summary>
/// Every public member of the library, found by reflection, has its bad-input cases in
/// <see cref="BadInputTable"/> (or an exemption there saying why it takes no input), and each case throws
/// the exception the member's XML documentation names. A new public member without an entry fails
/// <see cref="EveryPublicMemberHasBadInputCasesOrAnExemption"/>.
/// </summary>
public sealed class PublicSurfaceTests
{
    internal static readonly Assembly Library = typeof(CompletionPort).Assembly;

    /// <summary>The generated binding mirrors the C API one to one (raw pointers and handles): its bad input
    /// is the native core's, covered by the native tests (test_bad_handles, test_sock_bad_args, ...).</summary>
    private const string GeneratedNamespace = "IocpHybrid.Interop";

    private static string TypeName(Type t)
    {
        if (t.IsByRef)
        {
            return TypeName(t.GetElementType()!) + "&";
        }

        if (t.IsArray)
        {
            return TypeName(t.GetElementType()!) + "[]";
        }

        if (t.IsGenericType)
        {
            return $"{t.Name[..t.Name.IndexOf('`')]}<{string.Join(",", t.GetGenericArguments().Select(TypeName))}>";
        }

        return t.Name;
    }

    /// <summary>"Type.Method(ParamType, ...)", ".ctor" for constructors, "get_X"/"set_X" for properties.</summary>
    internal static string Key(MethodBase m) =>
        $"{TypeName(m.DeclaringType!)}.{(m is ConstructorInfo ? ".ctor" : m.Name)}({string.Join(", ", m.GetParameters().Select(p => TypeName(p.ParameterType)))})";

    internal static IEnumerable<MethodBase> Surface()
    {
        const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (Type type in Library.GetExportedTypes().Where(t => t.Namespace != GeneratedNamespace))
        {
            foreach (ConstructorInfo c in type.GetConstructors(flags))
            {
                yield return c;
            }

            foreach (MethodInfo m in type.GetMethods(flags))
            {
                yield return m;
            }
        }
    }

    [Fact]
    public void EveryPublicMemberHasBadInputCasesOrAnExemption()
    {
        var surface = Surface().Select(Key).ToHashSet();
        var covered = BadInputTable.Cases.Select(c => c.Member).Concat(BadInputTable.Exempt.Keys).ToHashSet();
        string[] missing = surface.Except(covered).Order().ToArray();
        string[] stale = covered.Except(surface).Order().ToArray();
        Assert.True(missing.Length == 0, "public members with neither bad-input cases nor an exemption:\n  " + string.Join("\n  ", missing));
        Assert.True(stale.Length == 0, "table entries that name no public member:\n  " + string.Join("\n  ", stale));
        Assert.Empty(BadInputTable.Cases.Select(c => c.Member).Intersect(BadInputTable.Exempt.Keys));
    }

    [Fact]
    public void EveryExpectedExceptionIsDocumented()
    {
        XDocument docs = XDocument.Load(Path.ChangeExtension(Library.Location, ".xml"));
        var methods = Surface().ToDictionary(Key);
        var problems = new List<string>();
        foreach (BadInputCase c in BadInputTable.Cases)
        {
            XElement? member = docs.Descendants("member").FirstOrDefault(e => (string?)e.Attribute("name") == DocId(methods[c.Member]));
            if (member is null)
            {
                problems.Add($"{c.Member}: no XML documentation ({DocId(methods[c.Member])})");
                continue;
            }

            if (member.Element("inheritdoc") is not null)
            {
                continue; // Stream's overrides: the base documents them
            }

            var documented = member.Elements("exception").Select(e => ((string)e.Attribute("cref")!)[2..]).ToHashSet();
            if (!Ancestry(c.Expected).Any(t => documented.Contains(t.FullName!)))
            {
                problems.Add($"{c.Member} [{c.Label}]: throws {c.Expected.Name}, documented: {string.Join(", ", documented)}");
            }
        }

        Assert.True(problems.Count == 0, "exceptions the XML docs don't state:\n  " + string.Join("\n  ", problems));
    }

    public static TheoryData<string> CaseNames() => new(BadInputTable.Cases.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task BadInputThrowsTheDocumentedException(string name)
    {
        BadInputCase c = BadInputTable.Cases.Single(x => x.Name == name);
        await using var fixture = await BadInputFixture.CreateAsync();
        Exception? thrown = null;
        try
        {
            object? result = c.Invoke(fixture);
            switch (result)
            {
                case Task task:
                    await task.Within();
                    break;
                case ValueTask valueTask:
                    await valueTask.Within();
                    break;
                case { } other when other.GetType().IsGenericType && other.GetType().GetGenericTypeDefinition() == typeof(ValueTask<>):
                    await ((Task)other.GetType().GetMethod("AsTask")!.Invoke(other, null)!).Within();
                    break;
            }
        }
        catch (Exception ex)
        {
            thrown = ex;
        }

        Assert.True(thrown is not null, $"{c.Name}: nothing was thrown, expected {c.Expected.Name}");
        if (c.Expected == typeof(OperationCanceledException))
        {
            // A cancelled task throws TaskCanceledException, an OperationCanceledException (the BCL's way);
            // either way it must carry the caller's token.
            OperationCanceledException oce = Assert.IsAssignableFrom<OperationCanceledException>(thrown);
            Assert.True(oce.CancellationToken == BadInputFixture.Canceled, $"{c.Name}: the OperationCanceledException does not carry the caller's token");
            return;
        }

        Assert.True(thrown.GetType() == c.Expected, $"{c.Name}: threw {thrown.GetType().Name} ({thrown.Message}), expected {c.Expected.Name}");
    }

    private static IEnumerable<Type> Ancestry(Type t)
    {
        for (Type? x = t; x is not null && x != typeof(object); x = x.BaseType)
        {
            yield return x;
        }
    }

    /// <summary>The XML documentation id of a member (properties for their accessors).</summary>
    private static string DocId(MethodBase m)
    {
        string type = m.DeclaringType!.FullName!.Replace('+', '.');
        if (m is MethodInfo { IsSpecialName: true } accessor && (m.Name.StartsWith("get_", StringComparison.Ordinal) || m.Name.StartsWith("set_", StringComparison.Ordinal)))
        {
            return $"P:{type}.{accessor.Name[4..]}";
        }

        string name = m is ConstructorInfo ? "#ctor" : m.Name;
        ParameterInfo[] ps = m.GetParameters();
        return ps.Length == 0 ? $"M:{type}.{name}" : $"M:{type}.{name}({string.Join(",", ps.Select(p => DocTypeName(p.ParameterType)))})";
    }

    private static string DocTypeName(Type t)
    {
        if (t.IsByRef)
        {
            return DocTypeName(t.GetElementType()!) + "@";
        }

        if (t.IsArray)
        {
            return DocTypeName(t.GetElementType()!) + "[]";
        }

        if (t.IsGenericType)
        {
            string def = t.GetGenericTypeDefinition().FullName!;
            return $"{def[..def.IndexOf('`')]}{{{string.Join(",", t.GetGenericArguments().Select(DocTypeName))}}}";
        }

        return t.FullName!.Replace('+', '.');
    }
}
