using IocpHybrid.Generator.Emit;
using IocpHybrid.Generator.Model;
using IocpHybrid.Generator.Output;

namespace IocpHybrid.Generator;

// Everything generated from one parse of the header: the binding, the C# layout tests and the
// C layout test.
internal static class Generation
{
    public const string RegenerateCommand =
        "dotnet run --project managed/IocpHybrid.Generator -- @managed/IocpHybrid.Generator/iocphybrid.rsp";

    public static OutputSet Build(Options options, NativeApi api, string header)
    {
        var output = new OutputSet();
        output.Own(options.Output);
        foreach ((string name, string content) in new BindingWriter(options, header).Write(api))
        {
            output.Add(Path.Combine(options.Output, name), content);
        }

        if (options.LayoutTestOutput is not null)
        {
            output.Add(options.LayoutTestOutput, new LayoutTestWriter(options, header).Write(api, options.Targets));
        }

        if (options.CLayoutOutput is not null)
        {
            string headerName = Path.GetFileName(options.Files[0]);
            output.Add(options.CLayoutOutput, CLayoutWriter.Write(api, headerName, options.Targets, RegenerateCommand));
        }

        return output;
    }
}
