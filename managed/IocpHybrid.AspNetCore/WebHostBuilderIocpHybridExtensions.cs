using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace IocpHybrid.AspNetCore;

/// <summary>Switches Kestrel to the IocpHybrid transport.</summary>
public static class WebHostBuilderIocpHybridExtensions
{
    /// <summary>
    /// Kestrel listens on IP endpoints through IocpHybrid's completion port (other endpoints, such as Unix
    /// sockets, stay with Kestrel's own transports): <c>builder.WebHost.UseIocpHybrid();</c>
    /// </summary>
    /// <param name="hostBuilder">The web host builder (<c>WebApplicationBuilder.WebHost</c>).</param>
    /// <returns><paramref name="hostBuilder"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="hostBuilder"/> is <see langword="null"/>.</exception>
    public static IWebHostBuilder UseIocpHybrid(this IWebHostBuilder hostBuilder) => hostBuilder.UseIocpHybrid(static _ => { });

    /// <summary>As <see cref="UseIocpHybrid(IWebHostBuilder)"/>, with options.</summary>
    /// <param name="hostBuilder">The web host builder (<c>WebApplicationBuilder.WebHost</c>).</param>
    /// <param name="configureOptions">Sets the transport's options.</param>
    /// <returns><paramref name="hostBuilder"/>.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IWebHostBuilder UseIocpHybrid(this IWebHostBuilder hostBuilder, Action<IocpHybridTransportOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(hostBuilder);
        ArgumentNullException.ThrowIfNull(configureOptions);
        return hostBuilder.ConfigureServices(services =>
        {
            // Kestrel asks the factories registered last first; ours declines what it can't bind.
            services.AddSingleton<IocpHybridTransportFactory>();
            services.AddSingleton<IConnectionListenerFactory>(sp => sp.GetRequiredService<IocpHybridTransportFactory>());
            services.Configure(configureOptions);
        });
    }
}
