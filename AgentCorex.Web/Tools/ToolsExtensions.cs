using System.Linq.Expressions;
using System.Reflection;
using System.Text.Json;
using AgentCorex.Tools;
using AgentCorex.Web.Api;
using FluentValidation;
using FluentValidation.Internal;

namespace AgentCorex.Web.Tools;

public static class ToolsExtensions
{
    /// <summary>Discovers the tools of the built-in assembly and of every configured plugin assembly.</summary>
    public static WebApplicationBuilder AddTools(this WebApplicationBuilder builder)
    {
        // Validation messages and argument paths speak the API's snake_case, not C# member names.
        ValidatorOptions.Global.DisplayNameResolver = (_, member, _) => member is null ? null : JsonNamingPolicy.SnakeCaseLower.ConvertName(member.Name);
        ValidatorOptions.Global.PropertyNameResolver = (_, member, expression) => ArgumentPath(member, expression);
        ValidatorOptions.Global.MessageFormatterFactory = () => new ArgumentPathMessages();

        var options = ToolsOptions.Read(builder.Configuration);
        var passedOver = new List<string>();
        var notAssemblies = new List<string>();
        foreach (var assembly in PluginAssemblies.Load(options.PluginPaths, builder.Environment.ContentRootPath, notAssemblies, passedOver).Prepend(typeof(ITool).Assembly).Distinct())
        {
            var types = PluginAssemblies.ExportedTypes(assembly, passedOver);
            new AssemblyScanner(types).ForEach(validator =>
                builder.Services.AddSingleton(validator.InterfaceType, validator.ValidatorType));
            foreach (var type in types.Where(IsTool))
            {
                builder.Services.AddSingleton(typeof(ITool), services => Create(services, type));
            }
        }
        builder.Services.AddSingleton(new PluginScan(passedOver, notAssemblies));
        // A tool is made once and serves every run: a scoped service (a DbContext) in its constructor would be one
        // instance shared by runs at once, never disposed. Scopes are validated in every environment, not only in
        // Development, so such a tool stops the start naming it (Create) instead of misbehaving under load.
        builder.Host.UseDefaultServiceProvider((context, provider) =>
        {
            provider.ValidateScopes = true;
            provider.ValidateOnBuild = context.HostingEnvironment.IsDevelopment();
        });
        builder.Services.AddSingleton<ToolCatalog>();
        builder.Services.AddScoped<ToolMetrics>();
        // The catalog is made with the settings' checks, before the host starts (StartupErrors), its making being the
        // check: a bad plugin (two tools with one name, a missing validator) stops the start in one line, as a bad setting
        // does, not at the first request nor after the host's "Hosting failed to start" and its stack trace. The settings are
        // those the tools were loaded with (ToolsOptions.Read, not the binder, which drops a single value of PluginPaths).
        builder.Services.AddOptions<ToolsOptions>()
            .Configure(registered => registered.PluginPaths = [.. options.PluginPaths])
            .Validate<ToolCatalog>((_, _) => true)
            .ValidateOnStart();
        return builder;
    }

    /// <summary>
    /// A rule's argument as a path: RuleFor(a => a.Target.Host) checks target.host, not a host at the top (FluentValidation's
    /// own resolver names the whole chain too; a plain member is named alone).
    /// </summary>
    private static string? ArgumentPath(MemberInfo? member, LambdaExpression? expression)
    {
        var chain = expression is null ? null : PropertyChain.FromExpression(expression).ToString();
        return chain is { Length: > 0 }
            ? string.Join('.', chain.Split('.').Select(JsonNamingPolicy.SnakeCaseLower.ConvertName))
            : member is null ? null : JsonNamingPolicy.SnakeCaseLower.ConvertName(member.Name);
    }

    /// <summary>
    /// A tool as dependency injection makes it; one that cannot be made (a dependency not registered, a constructor that
    /// throws) stops the start naming it, as an operator's matter, not a crash with the exception alone.
    /// </summary>
    internal static ITool Create(IServiceProvider services, Type type) =>
        CreatedOrRefused($"Tool {type.FullName}", () => (ITool)ActivatorUtilities.CreateInstance(services, type));

    /// <summary>
    /// What <paramref name="create"/> makes of a plugin's code; its failure (a constructor's exception, unwrapped from
    /// reflection's) stops the start as "<paramref name="what"/> cannot be created: why".
    /// </summary>
    internal static T CreatedOrRefused<T>(string what, Func<T> create)
    {
        try
        {
            return create();
        }
        catch (Exception e) when (e is not StartupRefusedException)
        {
            var cause = e is TargetInvocationException { InnerException: { } inner } ? inner : e;
            throw new StartupRefusedException($"{what} cannot be created: {cause.Message}", cause);
        }
    }

    private static bool IsTool(Type type) =>
        type is { IsClass: true, IsAbstract: false, ContainsGenericParameters: false } && typeof(ITool).IsAssignableFrom(type);
}
