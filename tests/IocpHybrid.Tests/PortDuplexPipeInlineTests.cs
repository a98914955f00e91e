using System.IO.Pipelines;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace IocpHybrid.Tests;

/// <summary>
/// A duplex pipe on a port whose continuations run on its workers, with inline pipe scheduling (the
/// fastest and least forgiving combination, Kestrel's UnsafePreferInlineScheduling): data both ways,
/// a close from the application and from the peer, nothing stuck.
/// </summary>
public sealed class PortDuplexPipeInlineTests() : SocketTestBase(new CompletionPortOptions { InlineCompletions = true })
{
    private static readonly PortDuplexPipeOptions Inline = new() { UnsafePreferInlineScheduling = true };

    [Fact]
    public async Task EchoesAndClosesWithEverythingInline()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        {
            await using var pipe = new PortDuplexPipe(server, Inline);
            await DuplexPipeEcho.RoundTripAsync(client, pipe, 2 * 1024 * 1024);
        }
    }

    [Fact]
    public async Task AbortFromTheApplicationEndsBothLoops()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        {
            await using var pipe = new PortDuplexPipe(server, Inline);
            ValueTask<ReadResult> reading = pipe.Input.ReadAsync();
            pipe.Abort();
            await Assert.ThrowsAsync<IOException>(() => reading.AsTask().Within());
            await pipe.Completion.Within();
        }
    }
}
