using AgentCorex.Web.Errors;
using FluentValidation;
using Microsoft.AspNetCore.Mvc;

namespace AgentCorex.Web.Api;

/// <summary>
/// A listing's page under the contract's names, newest first: GET /api_keys and a webhook's deliveries take it as it
/// is, GET /jobs with its filters added. Properties, not a positional record: MVC binds a record's constructor
/// parameters by their attributes, but the OpenAPI document names query parameters by the properties'.
/// </summary>
public record PageQuery
{
    public const int DefaultLimit = 20;

    public const int MaxLimit = 100;

    [FromQuery(Name = "limit")]
    public int Limit { get; init; } = DefaultLimit;

    [FromQuery(Name = "offset")]
    public int Offset { get; init; }
}

/// <summary>
/// A page's bounds. A listing with filters of its own states these two rules first in its validator, so that its
/// query's bounds are checked, worded and documented as every other listing's.
/// </summary>
public sealed class PageQueryValidator : AbstractValidator<PageQuery>
{
    public PageQueryValidator()
    {
        RuleFor(q => q.Limit).IsAPageLimit();
        RuleFor(q => q.Offset).IsAnOffset();
    }
}

/// <summary>The page a listing answered, beside its items: as asked, and how many items there are in all.</summary>
public sealed record Pagination(int Limit, int Offset, int Total);
