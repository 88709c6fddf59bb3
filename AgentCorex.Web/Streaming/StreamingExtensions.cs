namespace AgentCorex.Web.Streaming;

public static class StreamingExtensions
{
    /// <summary>GET /jobs/{id}/stream: server-sent events of a job, from any node.</summary>
    public static WebApplicationBuilder AddStreaming(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<StreamingOptions>().BindConfiguration(StreamingOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.PollInterval >= TimeSpan.FromMilliseconds(10) && o.PollInterval <= TimeSpan.FromSeconds(5), "Streaming:PollInterval must be between 00:00:00.010 and 00:00:05.")
            .Validate(o => o.KeepAliveInterval >= TimeSpan.FromSeconds(1) && o.KeepAliveInterval <= TimeSpan.FromMinutes(5), "Streaming:KeepAliveInterval must be between 00:00:01 and 00:05:00.")
            .ValidateOnStart();
        // The access_token in a stream's query string is kept out of ASP.NET Core's request lines by LogCaps.
        builder.Services.AddSingleton<KeyStreams>();
        builder.Services.AddSingleton<JobWatcher>();
        builder.Services.AddHostedService(services => services.GetRequiredService<JobWatcher>());
        return builder;
    }
}
