using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace IocpHybrid;

/// <summary>
/// A pool of 4 KiB blocks allocated on the pinned object heap, the memory a <see cref="PortDuplexPipe"/>
/// receives into and sends from. Pinned arrays never move, so pinning a block for an operation
/// (<see cref="Memory{T}.Pin"/>) takes no GC handle (the memory is created with
/// <see cref="MemoryMarshal.CreateFromPinnedArray{T}(T[], int, int)"/>), and a block is reused
/// instead of allocated per receive. Kestrel's own transports use the same shape (a pinned block pool).
/// </summary>
internal sealed class PinnedBlockMemoryPool : MemoryPool<byte>
{
    /// <summary>The size of every block: the pipes' segment size.</summary>
    public const int BlockSize = 4096;

    // Blocks kept for reuse past this count go back to the GC: a burst of connections must not pin
    // its peak for the life of the process (64 MiB of blocks at most stay pooled).
    private const int MaxRetainedBlocks = 16 * 1024;

    private readonly ConcurrentQueue<Block> _blocks = new();
    private int _retained;
    private bool _disposed;

    /// <summary>The pool the library's pipes share unless they are given another.</summary>
    public static PinnedBlockMemoryPool Default { get; } = new();

    /// <inheritdoc/>
    public override int MaxBufferSize => BlockSize;

    /// <summary>Blocks waiting in the pool for reuse.</summary>
    internal int RetainedBlocks => Volatile.Read(ref _retained);

    /// <inheritdoc/>
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_blocks.TryDequeue(out Block? block))
        {
            Interlocked.Decrement(ref _retained);
            block.Reuse();
            return block;
        }

        return new Block(this);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        _blocks.Clear();
    }

    private void Return(Block block)
    {
        if (_disposed || Interlocked.Increment(ref _retained) > MaxRetainedBlocks)
        {
            if (!_disposed)
            {
                Interlocked.Decrement(ref _retained);
            }

            return;
        }

        _blocks.Enqueue(block);
    }

    private sealed class Block : IMemoryOwner<byte>
    {
        private readonly PinnedBlockMemoryPool _pool;
        private readonly Memory<byte> _memory;
        private int _rented = 1;

        public Block(PinnedBlockMemoryPool pool)
        {
            _pool = pool;
            _memory = MemoryMarshal.CreateFromPinnedArray(GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true), 0, BlockSize);
        }

        public Memory<byte> Memory
        {
            get
            {
                ObjectDisposedException.ThrowIf(Volatile.Read(ref _rented) == 0, this);
                return _memory;
            }
        }

        public void Reuse() => Volatile.Write(ref _rented, 1);

        public void Dispose()
        {
            // Returned once: a second Dispose of the same rental must not put the block in the
            // pool twice (two renters would then share it).
            if (Interlocked.Exchange(ref _rented, 0) == 1)
            {
                _pool.Return(this);
            }
        }
    }
}
