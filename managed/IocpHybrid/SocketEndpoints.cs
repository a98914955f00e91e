using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using IocpHybrid.Interop;

namespace IocpHybrid;

/// <summary>Converts between <see cref="IPEndPoint"/> / <see cref="SocketAddress"/> and the native <c>iocph_endpoint</c>, without allocating where it can.</summary>
internal static unsafe class SocketEndpoints
{
    // sockaddr_in / sockaddr_in6 offsets, the same on Windows and Linux (SocketAddress.Buffer holds the OS's sockaddr).
    private const int PortOffset = 2;
    private const int IPv4AddressOffset = 4;
    private const int IPv6AddressOffset = 8;
    private const int IPv6ScopeOffset = 24;
    private const int IPv4Size = 16;
    private const int IPv6Size = 28;

    /// <summary>Fills a native endpoint from an <see cref="IPEndPoint"/>.</summary>
    internal static iocph_endpoint FromIPEndPoint(IPEndPoint endPoint)
    {
        iocph_endpoint native = default;
        native.port = (ushort)endPoint.Port;
        IPAddress address = endPoint.Address;
        var bytes = new Span<byte>(native.address, 16);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            native.family = (ushort)iocph_address_family.IOCPH_AF_INET;
            address.TryWriteBytes(bytes, out _);
        }
        else if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            native.family = (ushort)iocph_address_family.IOCPH_AF_INET6;
            native.scope_id = (uint)address.ScopeId;
            address.TryWriteBytes(bytes, out _);
        }
        else
        {
            throw new ArgumentException($"Only IPv4 and IPv6 endpoints are supported, not {address.AddressFamily}.", nameof(endPoint));
        }

        return native;
    }

    /// <summary>Fills a native endpoint from a <see cref="SocketAddress"/> (IPv4 or IPv6).</summary>
    internal static iocph_endpoint FromSocketAddress(SocketAddress address)
    {
        iocph_endpoint native = default;
        ReadOnlySpan<byte> buffer = address.Buffer.Span;
        native.port = BinaryPrimitives.ReadUInt16BigEndian(buffer[PortOffset..]);
        var bytes = new Span<byte>(native.address, 16);
        if (address.Family == AddressFamily.InterNetwork && address.Size >= IPv4Size)
        {
            native.family = (ushort)iocph_address_family.IOCPH_AF_INET;
            buffer.Slice(IPv4AddressOffset, 4).CopyTo(bytes);
        }
        else if (address.Family == AddressFamily.InterNetworkV6 && address.Size >= IPv6Size)
        {
            native.family = (ushort)iocph_address_family.IOCPH_AF_INET6;
            buffer.Slice(IPv6AddressOffset, 16).CopyTo(bytes);
            native.scope_id = BinaryPrimitives.ReadUInt32LittleEndian(buffer[IPv6ScopeOffset..]);
        }
        else
        {
            throw new ArgumentException($"Only IPv4 and IPv6 socket addresses are supported, not {address.Family}.", nameof(address));
        }

        return native;
    }

    /// <summary>
    /// Stores a native endpoint into <paramref name="target"/>, whose family decides the form: an IPv4
    /// sender into an IPv6 address becomes IPv4-mapped (dual-mode sockets).
    /// </summary>
    internal static void Write(in iocph_endpoint native, SocketAddress target)
    {
        Span<byte> buffer = target.Buffer.Span;
        fixed (byte* source = native.address)
        {
            var bytes = new ReadOnlySpan<byte>(source, 16);
            if (target.Family == AddressFamily.InterNetwork)
            {
                target.Size = IPv4Size;
                buffer[IPv4AddressOffset..IPv4Size].Clear();
                BinaryPrimitives.WriteUInt16BigEndian(buffer[PortOffset..], native.port);
                bytes[..4].CopyTo(buffer[IPv4AddressOffset..]);
                return;
            }

            target.Size = IPv6Size;
            buffer[IPv4AddressOffset..IPv6Size].Clear();
            BinaryPrimitives.WriteUInt16BigEndian(buffer[PortOffset..], native.port);
            if (native.family == (ushort)iocph_address_family.IOCPH_AF_INET)
            {
                // ::ffff:a.b.c.d
                buffer[IPv6AddressOffset + 10] = 0xFF;
                buffer[IPv6AddressOffset + 11] = 0xFF;
                bytes[..4].CopyTo(buffer[(IPv6AddressOffset + 12)..]);
            }
            else
            {
                bytes.CopyTo(buffer[IPv6AddressOffset..]);
                BinaryPrimitives.WriteUInt32LittleEndian(buffer[IPv6ScopeOffset..], native.scope_id);
            }
        }
    }

    /// <summary>
    /// A new <see cref="IPEndPoint"/> for a native endpoint; an IPv4 endpoint seen by an IPv6 socket
    /// (<paramref name="socketFamily"/>) is mapped to IPv6, as System.Net.Sockets does.
    /// </summary>
    internal static IPEndPoint ToIPEndPoint(in iocph_endpoint native, AddressFamily socketFamily = AddressFamily.Unspecified)
    {
        fixed (byte* source = native.address)
        {
            IPAddress address;
            if (native.family == (ushort)iocph_address_family.IOCPH_AF_INET)
            {
                address = new IPAddress(new ReadOnlySpan<byte>(source, 4));
                if (socketFamily == AddressFamily.InterNetworkV6)
                {
                    address = address.MapToIPv6();
                }
            }
            else
            {
                address = new IPAddress(new ReadOnlySpan<byte>(source, 16), native.scope_id);
            }

            return new IPEndPoint(address, native.port);
        }
    }

    /// <summary>The <see cref="AddressFamily"/> of an endpoint the library takes.</summary>
    internal static IPEndPoint RequireIPEndPoint(EndPoint endPoint, string paramName)
    {
        ArgumentNullException.ThrowIfNull(endPoint, paramName);
        return endPoint as IPEndPoint
            ?? throw new ArgumentException($"An IPEndPoint is needed here, not {endPoint.GetType().Name}.", paramName);
    }
}
