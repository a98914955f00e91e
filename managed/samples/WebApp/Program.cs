using System.Text.Json.Serialization;
using IocpHybrid.AspNetCore;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

bool inline = args.Contains("--inline");
string transport = ArgumentAfter("--transport") ?? "iocphybrid";

WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, SampleJsonContext.Default));
switch (transport)
{
    case "iocphybrid":
        builder.WebHost.UseIocpHybrid(o => o.UnsafePreferInlineScheduling = inline);
        break;
    case "sockets":
        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = inline);
        break;
    default:
        Console.Error.WriteLine($"unknown transport '{transport}' (iocphybrid or sockets)");
        return 2;
}

WebApplication app = builder.Build();
app.MapGet("/plaintext", () => Results.Text("Hello, World!"));
app.MapGet("/json", () => new Greeting("Hello, World!"));
// The request body streamed back as the response body (the demo checks every byte).
app.MapPost("/echo", async (HttpContext context) =>
{
    context.Response.ContentType = "application/octet-stream";
    await context.Request.Body.CopyToAsync(context.Response.Body, context.RequestAborted);
});
app.MapGet("/stats", (IServiceProvider services) =>
{
    IocpHybrid.CompletionPort? port = services.GetService<IocpHybridTransportFactory>()?.Port;
    return port is null
        ? Results.Text("transport: sockets")
        : Results.Text($"transport: iocphybrid on {port.Backend}; {port.GetStatistics()}");
});
// How much the JIT has compiled so far: the benchmark warms a server up until this stops growing
// (tiered compilation has then settled on its final code for the hot paths).
app.MapGet("/jit", () => Results.Text(
    $"methods={System.Runtime.JitInfo.GetCompiledMethodCount()} ms={System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds:F0}"));

await app.StartAsync();
string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
Console.WriteLine($"listening on {address} ({transport}{(inline ? ", inline" : string.Empty)})");
await app.WaitForShutdownAsync();
return 0;

string? ArgumentAfter(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

internal sealed record Greeting(string Message);

[JsonSerializable(typeof(Greeting))]
internal sealed partial class SampleJsonContext : JsonSerializerContext
{
}
