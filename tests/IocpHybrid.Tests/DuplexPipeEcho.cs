using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace IocpHybrid.Tests;

/// <summary>An echo application on a <see cref="PortDuplexPipe"/> and the client's check of it: the bytes come back whole and in order, then the close.</summary>
internal static class DuplexPipeEcho
{
    /// <summary>Sends <paramref name="length"/> random bytes in pieces of random size, checks the echo by hash, half-closes and waits for the pipe to finish.</summary>
    public static async Task RoundTripAsync(PortTcpConnection client, PortDuplexPipe pipe, int length)
    {
        Task echo = EchoAsync(pipe);
        byte[] data = RandomNumberGenerator.GetBytes(length);
        Task sending = SendInPiecesAsync(client, data);
        var back = new byte[data.Length];
        int total = 0;
        while (total < back.Length)
        {
            int n = await client.ReceiveAsync(back.AsMemory(total)).Within();
            Assert.True(n > 0, $"the echo ended after {total} of {back.Length} bytes");
            total += n;
        }

        await sending.Within();
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(back));

        client.Shutdown(SocketShutdown.Send);
        await echo.Within();
        Assert.Equal(0, await client.ReceiveAsync(new byte[1]).Within());
        await pipe.Completion.Within();
    }

    /// <summary>Writes back what it reads until the input ends, then completes the output.</summary>
    private static async Task EchoAsync(PortDuplexPipe pipe)
    {
        while (true)
        {
            ReadResult result = await pipe.Input.ReadAsync();
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                pipe.Output.Write(segment.Span);
            }

            pipe.Input.AdvanceTo(result.Buffer.End);
            await pipe.Output.FlushAsync();
            if (result.IsCompleted)
            {
                await pipe.Output.CompleteAsync();
                return;
            }
        }
    }

    private static async Task SendInPiecesAsync(PortTcpConnection connection, byte[] data)
    {
        var random = new Random(7);
        int sent = 0;
        while (sent < data.Length)
        {
            int n = Math.Min(data.Length - sent, random.Next(1, 100_000));
            await connection.SendAsync(data.AsMemory(sent, n));
            sent += n;
        }
    }
}
