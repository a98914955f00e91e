using System.Buffers.Binary;

namespace IocpHybrid.Stress;

/// <summary>
/// Deterministic content: the byte at position <c>p</c> of the stream named by <c>key</c> is a pure
/// function of (key, p), so a reader checks what it got without a copy of what was written, and a
/// write of another generation (another key) or at another offset shows up as a mismatch.
/// </summary>
internal static class Pattern
{
    /// <summary>SplitMix64's finaliser: every input bit affects every output bit.</summary>
    internal static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    /// <summary>A stream key from the run's seed and the parts that name one stream.</summary>
    internal static ulong Key(long seed, params ReadOnlySpan<long> parts)
    {
        ulong k = Mix((ulong)seed);
        foreach (long part in parts)
        {
            k = Mix(k ^ (ulong)part);
        }

        return k;
    }

    /// <summary>Fills <paramref name="target"/> with the stream <paramref name="key"/> from position <paramref name="position"/>.</summary>
    internal static void Fill(ulong key, long position, Span<byte> target)
    {
        int i = 0;
        while (i < target.Length)
        {
            long p = position + i;
            ulong word = Mix(key ^ (ulong)(p >> 3));
            int shift = (int)(p & 7);
            int take = Math.Min(8 - shift, target.Length - i);
            for (int b = 0; b < take; b++)
            {
                target[i + b] = (byte)(word >> ((shift + b) * 8));
            }

            i += take;
        }
    }

    /// <summary>
    /// The index of the first byte of <paramref name="data"/> that differs from the stream
    /// <paramref name="key"/> at <paramref name="position"/>, or -1 when all match.
    /// </summary>
    internal static int FirstMismatch(ulong key, long position, ReadOnlySpan<byte> data)
    {
        Span<byte> expected = stackalloc byte[256];
        for (int done = 0; done < data.Length; done += expected.Length)
        {
            int n = Math.Min(expected.Length, data.Length - done);
            Fill(key, position + done, expected[..n]);
            int diff = data.Slice(done, n).CommonPrefixLength(expected[..n]);
            if (diff < n)
            {
                return done + diff;
            }
        }

        return -1;
    }

    /// <summary>A 64-bit checksum (FNV-1a over 8-byte words, then mixed): detects torn and spliced messages.</summary>
    internal static ulong Checksum(ReadOnlySpan<byte> data)
    {
        ulong h = 0xCBF29CE484222325UL;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            h = (h ^ BinaryPrimitives.ReadUInt64LittleEndian(data[i..])) * 0x100000001B3UL;
        }

        for (; i < data.Length; i++)
        {
            h = (h ^ data[i]) * 0x100000001B3UL;
        }

        return Mix(h ^ (ulong)data.Length);
    }
}
