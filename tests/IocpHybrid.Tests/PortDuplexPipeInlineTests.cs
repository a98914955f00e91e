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
            Task echo = EchoUntilEndAsync(pipe);
            byte[] data = RandomNumberGenerator.GetBytes(2 * 1024 * 1024);
            Task sending = client.SendAsync(data);
            var back = new byte[data.Length];
            await ReceiveExactlyAsync(client, back);
            await sending.Within();
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(back));
            client.Shutdown(SocketShutdown.Send);
            await echo.Within();
            Assert.Equal(0, await client.ReceiveAsync(new byte[1]).Within());
            await pipe.Completion.Within();
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

    private static async Task EchoUntilEndAsync(PortDuplexPipe pipe)
    {
        while (true)
        {
            ReadResult result = await pipe.Input.ReadAsync();
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                await pipe.Output.WriteAsync(segment);
            }

            pipe.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                await pipe.Output.CompleteAsync();
                return;
            }
        }
    }
}
