using System.Reflection;
using System.Runtime.InteropServices;

namespace IocpHybrid;

/// <summary>
/// Finds the native core for the generated binding's <c>[DllImport("iocphybrid")]</c>.
/// </summary>
/// <remarks>
/// On Windows file names are case-insensitive, so the native <c>iocphybrid.dll</c> and this managed
/// <c>IocpHybrid.dll</c> can't share a folder: the default probe would even find the managed assembly
/// and fail with <see cref="EntryPointNotFoundException"/>. So on Windows the native library is deployed
/// beside this assembly as <c>libiocphybrid.dll</c> (the convention SkiaSharp uses for the same clash,
/// and mingw-w64's default name), and this resolver loads that file. Elsewhere, and when that file is
/// absent, the runtime's default probing applies (<c>libiocphybrid.so</c> beside the assembly on Linux).
/// </remarks>
internal static class NativeLibraryResolver
{
    /// <summary>The library name the generated binding imports.</summary>
    internal const string ImportName = "iocphybrid";

    /// <summary>The file the native core is deployed as on Windows.</summary>
    internal const string WindowsFileName = "libiocphybrid.dll";

    private static int s_registered;

    /// <summary>Registers the resolver once; called before the first P/Invoke (static constructor of <see cref="CompletionPort"/>).</summary>
    internal static void EnsureRegistered()
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 0)
        {
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != ImportName || !OperatingSystem.IsWindows())
        {
            return IntPtr.Zero; // the default probing
        }

        string candidate = Path.Combine(AppContext.BaseDirectory, WindowsFileName);
        if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out IntPtr handle))
        {
            return handle;
        }

        // Not deployed beside the assembly: let the OS search (PATH, System32) for the real name.
        return NativeLibrary.TryLoad(WindowsFileName, assembly, searchPath, out IntPtr fallback) ? fallback : IntPtr.Zero;
    }
}
