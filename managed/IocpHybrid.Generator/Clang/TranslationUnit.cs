using System.Text;

namespace IocpHybrid.Generator.Clang;

// One parsed file (optionally an in-memory "unsaved" file). Any error diagnostic fails generation.
internal sealed unsafe class TranslationUnit : IDisposable
{
    private void* _index;
    private void* _tu;

    private TranslationUnit(void* index, void* tu)
    {
        _index = index;
        _tu = tu;
    }

    public void* Handle => _tu;

    public CXCursor Cursor => LibClang.clang_getTranslationUnitCursor(_tu);

    public static TranslationUnit Parse(string path, IReadOnlyList<string> args, string? unsavedContents, uint options)
    {
        void* index = LibClang.clang_createIndex(0, 0);
        byte[] pathBytes = ClangText.Utf8Z(path);
        byte[][] argBytes = args.Select(ClangText.Utf8Z).ToArray();
        byte[] contents = unsavedContents is null ? [] : Encoding.UTF8.GetBytes(unsavedContents);
        var pins = new List<System.Runtime.InteropServices.GCHandle>();
        try
        {
            byte** argv = stackalloc byte*[Math.Max(argBytes.Length, 1)];
            for (int i = 0; i < argBytes.Length; i++)
            {
                var pin = System.Runtime.InteropServices.GCHandle.Alloc(argBytes[i], System.Runtime.InteropServices.GCHandleType.Pinned);
                pins.Add(pin);
                argv[i] = (byte*)pin.AddrOfPinnedObject();
            }

            fixed (byte* pathPtr = pathBytes)
            fixed (byte* contentsPtr = contents)
            {
                var unsaved = new CXUnsavedFile { Filename = pathPtr, Contents = contentsPtr, Length = (nuint)contents.Length };
                void* tu = LibClang.clang_parseTranslationUnit(index, pathPtr, argv, argBytes.Length,
                    unsavedContents is null ? null : &unsaved, unsavedContents is null ? 0u : 1u, options);
                if (tu == null)
                {
                    LibClang.clang_disposeIndex(index);
                    throw new GeneratorException($"libclang could not parse {path} (args: {string.Join(' ', args)})");
                }

                return new TranslationUnit(index, tu);
            }
        }
        finally
        {
            foreach (var pin in pins)
            {
                pin.Free();
            }
        }
    }

    // Error and fatal diagnostics, formatted as clang prints them.
    public List<string> Errors()
    {
        var errors = new List<string>();
        uint count = LibClang.clang_getNumDiagnostics(_tu);
        for (uint i = 0; i < count; i++)
        {
            void* diagnostic = LibClang.clang_getDiagnostic(_tu, i);
            if (LibClang.clang_getDiagnosticSeverity(diagnostic) >= 3)
            {
                errors.Add(ClangText.Take(LibClang.clang_formatDiagnostic(diagnostic, LibClang.clang_defaultDiagnosticDisplayOptions())));
            }

            LibClang.clang_disposeDiagnostic(diagnostic);
        }

        return errors;
    }

    public void Dispose()
    {
        if (_tu != null)
        {
            LibClang.clang_disposeTranslationUnit(_tu);
            _tu = null;
        }

        if (_index != null)
        {
            LibClang.clang_disposeIndex(_index);
            _index = null;
        }
    }
}
