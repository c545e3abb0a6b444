using Annotate.Contracts.V1;

namespace Annotate.Server.Infrastructure;

/// <summary>Keyset paging over an ordered list: the page token is the last key of the previous page.</summary>
public static class Paging
{
    public const int DefaultSize = 50;
    public const int MaxSize = 500;

    public static (IReadOnlyList<T> Page, string NextToken) Take<T>(IReadOnlyList<T> ordered, PageRequest? request, Func<T, string> key)
    {
        var size = request is null || request.PageSize == 0 ? DefaultSize : (int)request.PageSize;
        if (size > MaxSize) throw ErrorMapping.Invalid($"page_size may be at most {MaxSize}.");
        var after = request?.PageToken ?? "";
        var start = 0;
        if (after.Length > 0)
        {
            var index = ordered.Select((item, i) => (item, i)).FirstOrDefault(x => key(x.item) == after, (default!, -1)).Item2;
            if (index < 0) throw ErrorMapping.Invalid("page_token is not one this list gave; start again without it.");
            start = index + 1;
        }
        var page = ordered.Skip(start).Take(size).ToList();
        var next = start + page.Count < ordered.Count && page.Count > 0 ? key(page[^1]) : "";
        return (page, next);
    }
}
