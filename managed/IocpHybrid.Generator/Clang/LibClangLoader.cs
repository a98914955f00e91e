using System.Reflection;
using System.Runtime.InteropServices;

namespace IocpHybrid.Generator.Clang;

// Finds libclang: --libclang PATH, then $IOCPH_LIBCLANG, then the names Debian, other Linux
// distributions, macOS and Windows install it under, newest LLVM first.
internal static class LibClangLoader
{
    private static string? s_explicitPath;

    public static void Install(string? explicitPath)
    {
        s_explicitPath = explicitPath ?? Environment.GetEnvironmentVariable("IOCPH_LIBCLANG");
        NativeLibrary.SetDllImportResolver(typeof(LibClangLoader).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != LibClang.Library)
        {
            return IntPtr.Zero;
        }

        foreach (string candidate in Candidates())
        {
            if (NativeLibrary.TryLoad(candidate, out IntPtr handle))
            {
                return handle;
            }
        }

        throw new GeneratorException(
            "libclang not found. Install Debian's libclang1-14 and libclang-common-14-dev " +
            "(apt-get install libclang1-14 libclang-common-14-dev) or pass --libclang PATH / set IOCPH_LIBCLANG.");
    }

    private static IEnumerable<string> Candidates()
    {
        if (!string.IsNullOrEmpty(s_explicitPath))
        {
            yield return s_explicitPath;
            yield break;
        }

        for (int version = 30; version >= 10; version--)
        {
            yield return $"/usr/lib/llvm-{version}/lib/libclang.so.1";
            yield return $"libclang-{version}.so.1";
        }

        yield return "libclang.so.1";
        yield return "libclang.so";
        yield return "libclang.dylib";
        yield return "libclang";
    }
}
