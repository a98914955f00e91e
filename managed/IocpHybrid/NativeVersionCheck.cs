using IocpHybrid.Interop;

namespace IocpHybrid;

/// <summary>
/// The managed library and the native core ship together (one NuGet package, one version set in
/// native/include/iocphybrid.h): before the first port is created, the version of the native library
/// actually loaded must equal the one this assembly was generated against (<see
/// cref="NativeMethods.IOCPH_VERSION"/>), or the structures and codes exchanged with it can't be trusted.
/// </summary>
internal static class NativeVersionCheck
{
    private static volatile bool s_checked;

    /// <summary>Throws once per call until the loaded library's version has been seen to match.</summary>
    public static void EnsureCompatible()
    {
        if (s_checked)
        {
            return;
        }

        Verify((uint)NativeMethods.IOCPH_VERSION, NativeMethods.iocph_version());
        s_checked = true;
    }

    /// <summary>Compares an expected and a loaded version (both encoded as <c>IOCPH_VERSION</c>).</summary>
    /// <exception cref="InvalidOperationException">They differ; the message names both.</exception>
    internal static void Verify(uint expected, uint loaded)
    {
        if (expected != loaded)
        {
            throw new InvalidOperationException(
                $"The native library libiocphybrid is version {Format(loaded)}, but this IocpHybrid assembly " +
                $"needs version {Format(expected)}: the two come from one package and must be the same version " +
                "(a stale native library is found first, next to the application or on the library path).");
        }
    }

    internal static Version ToVersion(uint v) => new((int)(v >> 16), (int)((v >> 8) & 0xFF), (int)(v & 0xFF));

    private static string Format(uint v) => ToVersion(v).ToString(3);
}
