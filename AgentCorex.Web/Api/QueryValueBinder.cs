using System.Globalization;
using AgentCorex.Web.Errors;
using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace AgentCorex.Web.Api;

/// <summary>
/// Reads query-string values as the contract writes them. MVC's own binding goes through type converters, which
/// take hexadecimal (<c>limit=0x10</c> as 16), spaces around a value and the first of repeated values, and looks
/// a complex parameter's values up under its C# name when a client sends that prefix (<c>?query.limit=</c>).
/// Here a value is read under its contract name only; an integer is decimal digits with an optional minus, a
/// boolean <c>true</c> or <c>false</c> in any case. A value given twice, empty, or anything else is
/// INVALID_ARGUMENTS naming the parameter; an absent one keeps its default.
/// </summary>
internal sealed class QueryValueBinder(Func<string, string, object> parse) : IModelBinder
{
    public Task BindModelAsync(ModelBindingContext context)
    {
        var name = context.BinderModelName ?? context.FieldName;
        var values = context.ValueProvider.GetValue(name);
        if (values.Length == 0)
        {
            return Task.CompletedTask;
        }
        if (values.Length > 1)
        {
            throw ApiErrors.InvalidArguments($"'{name}' must be given once", name);
        }
        context.Result = ModelBindingResult.Success(parse(values.FirstValue ?? "", name));
        return Task.CompletedTask;
    }

    internal static object ParseInt(string text, string name)
    {
        var digits = text.StartsWith('-') ? text.AsSpan(1) : text;
        if (digits.IsEmpty || digits.ContainsAnyExceptInRange('0', '9'))
        {
            throw ApiErrors.InvalidArguments($"'{name}' must be an integer in decimal digits", name);
        }
        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw ApiErrors.InvalidArguments(text.StartsWith('-')
                ? $"'{name}' is too small: integers here go down to {int.MinValue}"
                : $"'{name}' is too large: integers here go up to {int.MaxValue}", name);
    }

    internal static object ParseBool(string text, string name) =>
        string.Equals(text, "true", StringComparison.OrdinalIgnoreCase) ? true
        : string.Equals(text, "false", StringComparison.OrdinalIgnoreCase) ? false
        : throw ApiErrors.InvalidArguments($"'{name}' must be true or false", name);

    internal static object ParseString(string text, string name) =>
        text.Length > 0 ? text : throw ApiErrors.InvalidArguments($"'{name}' must not be empty; leave it out instead", name);
}

/// <summary>Puts <see cref="QueryValueBinder"/> on every query parameter of a type the API takes there.</summary>
internal sealed class QueryValueBinderProvider : IModelBinderProvider
{
    private static readonly Dictionary<Type, Func<string, string, object>> Parsers = new()
    {
        [typeof(int)] = QueryValueBinder.ParseInt,
        [typeof(bool)] = QueryValueBinder.ParseBool,
        [typeof(string)] = QueryValueBinder.ParseString,
    };

    public IModelBinder? GetBinder(ModelBinderProviderContext context)
    {
        if (context.BindingInfo.BindingSource != BindingSource.Query || context.Metadata.IsComplexType)
        {
            return null;
        }
        var type = context.Metadata.UnderlyingOrModelType;
        return Parsers.TryGetValue(type, out var parse)
            ? new QueryValueBinder(parse)
            : throw new InvalidOperationException($"No strict query binding for {type}: add a parser to {nameof(QueryValueBinderProvider)}");
    }
}
