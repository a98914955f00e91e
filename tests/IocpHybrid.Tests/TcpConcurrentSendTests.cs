using System.Buffers.Binary;

namespace IocpHybrid.Tests;

/// <summary>
/// Concurrent sends on one connection, as System.Net.Sockets allows them: each arrives whole, and the
/// sends one thread started arrive in the order it started them.
/// </summary>
public sealed class TcpConcurrentSendTests : SocketTestBase
{
    private const int Senders = 4;
    private const int MessagesPerSender = 24;
    private const int HeaderLength = 10; // magic, sender, sequence (4), payload length (4)
    private const byte Magic = 0xA5;

    public enum SendKind
    {
        Memory,
        Sequence, // many segments: several native gather sends per call
        SegmentList,
    }

    [Theory]
    [InlineData(SendKind.Memory)]
    [InlineData(SendKind.Sequence)]
    [InlineData(SendKind.SegmentList)]
    public async Task ConcurrentSendsArriveWholeAndInStartOrder(SendKind kind)
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            // Several threads start their sends without waiting for the previous ones: the socket buffer
            // fills, so sends go partly out at once and partly through the port, with others started meanwhile.
            Task<Task[]>[] senders = Enumerable.Range(0, Senders).Select(sender => Task.Run(() =>
            {
                var sends = new Task[MessagesPerSender];
                for (int sequence = 0; sequence < MessagesPerSender; sequence++)
                {
                    byte[] message = Message(sender, sequence);
                    sends[sequence] = kind switch
                    {
                        SendKind.Memory => client.SendAsync(message.AsMemory()).AsTask(),
                        SendKind.Sequence => client.SendAsync(Segments.Build(message, 4096)).AsTask(),
                        _ => client.SendAsync(message.Chunk(4096).Select(c => new ArraySegment<byte>(c)).ToList()),
                    };
                }

                return sends;
            })).ToArray();

            // The receiver first: if it finds a broken message it stops reading, and the sends would then wait forever.
            await ReceiveAndCheckAsync(server).Within();
            foreach (Task<Task[]> sender in senders)
            {
                await Task.WhenAll(await sender.Within()).Within();
            }
        }
    }

    private static async Task ReceiveAndCheckAsync(PortTcpConnection server)
    {
        var next = new int[Senders];
        var header = new byte[HeaderLength];
        for (int received = 0; received < Senders * MessagesPerSender; received++)
        {
            await ReceiveExactlyAsync(server, header);
            Assert.True(header[0] == Magic, $"message {received}: no header where one must start (bytes of sends interleaved)");
            int sender = header[1];
            int sequence = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(2));
            int length = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(6));
            Assert.InRange(sender, 0, Senders - 1);
            Assert.Equal(next[sender], sequence);
            next[sender]++;

            byte[] expected = Message(sender, sequence);
            Assert.Equal(expected.Length - HeaderLength, length);
            var payload = new byte[length];
            await ReceiveExactlyAsync(server, payload);
            Assert.True(expected.AsSpan(HeaderLength).SequenceEqual(payload), $"sender {sender} message {sequence}: the payload was not received whole");
        }
    }

    /// <summary>A distinct, patterned message of 64 KiB to about 600 KiB.</summary>
    private static byte[] Message(int sender, int sequence)
    {
        int length = 64 * 1024 + ((sender * 7919 + sequence * 104_729) % (512 * 1024));
        var message = new byte[HeaderLength + length];
        message[0] = Magic;
        message[1] = (byte)sender;
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(2), sequence);
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(6), length);
        for (int i = 0; i < length; i++)
        {
            message[HeaderLength + i] = (byte)((i * 31) + (i >> 8) + (sender * 7) + (sequence * 13));
        }

        return message;
    }
}
