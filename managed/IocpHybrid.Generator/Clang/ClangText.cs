using System.Runtime.InteropServices;
using System.Text;

namespace IocpHybrid.Generator.Clang;

// CXString to string (disposing it) and string to a NUL-terminated UTF-8 buffer.
internal static unsafe class ClangText
{
    public static string Take(CXString text)
    {
        try
        {
            byte* bytes = LibClang.clang_getCString(text);
            return bytes == null ? string.Empty : Marshal.PtrToStringUTF8((IntPtr)bytes) ?? string.Empty;
        }
        finally
        {
            LibClang.clang_disposeString(text);
        }
    }

    public static byte[] Utf8Z(string text)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}
