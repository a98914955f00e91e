using System.Runtime.InteropServices;

namespace IocpHybrid.Tests;

/// <summary>
/// The .NET runtime under Wine 8 crashes with "Internal CLR error (0x80131506)" when W^X (write-xor-execute
/// double mapping of JIT code, on by default since .NET 7) is enabled: the finalizer thread, destroying a
/// collected DynamicMethod (reflection's emit-based invoker, used by the test framework, makes them), reads
/// a null code header in coreclr.dll (DynamicResolver+DestroyScout.Finalize). It depends on GC timing and
/// test order, not on this library: it reproduces with tests that never load libiocphybrid.dll
/// (DOTNET_GCgen0size=0x40000 crashed 8 runs of 8), and never with W^X off (0 of 8; the library's tests then
/// pass even with the much more frequent GCs of DOTNET_GCgen0size=0x10000). The test project turns it off
/// for Windows builds (System.Runtime.EnableWriteXorExecute=false in the runtimeconfig.json, see the
/// .csproj); this test makes sure the Wine runs really get that setting.
/// </summary>
public sealed class WineEnvironmentTests
{
    [Fact]
    public void UnderWineTheRuntimeRunsWithWriteXorExecuteDisabled()
    {
        if (!RunningUnderWine())
        {
            return;
        }

        object? knob = AppContext.GetData("System.Runtime.EnableWriteXorExecute");
        string? variable = Environment.GetEnvironmentVariable("DOTNET_EnableWriteXorExecute")
            ?? Environment.GetEnvironmentVariable("COMPlus_EnableWriteXorExecute");
        bool disabled = variable is not null ? variable == "0" : string.Equals(knob?.ToString(), "false", StringComparison.OrdinalIgnoreCase);
        Assert.True(
            disabled,
            "Under Wine the runtime must run with W^X disabled (System.Runtime.EnableWriteXorExecute=false in the " +
            $"runtimeconfig.json, or DOTNET_EnableWriteXorExecute=0; found '{knob}' / '{variable}'): with W^X enabled it " +
            "crashes at random after a GC (Internal CLR error 0x80131506 in DynamicResolver+DestroyScout.Finalize).");
    }

    /// <summary>Wine's ntdll exports wine_get_version; Windows' does not.</summary>
    internal static bool RunningUnderWine()
    {
        if (!OperatingSystem.IsWindows() || !NativeLibrary.TryLoad("ntdll.dll", out nint ntdll))
        {
            return false;
        }

        return NativeLibrary.TryGetExport(ntdll, "wine_get_version", out _);
    }
}
