using System.Diagnostics.CodeAnalysis;

namespace Annotate.Domain.Errors;

/// <summary>Either a value or a <see cref="DomainError"/>, never both. Domain functions return this instead
/// of throwing, so that every refusal is an ordinary value the caller must look at.</summary>
public readonly struct Result<T>
{
    private readonly T? _value;
    private readonly DomainError? _error;

    private Result(T? value, DomainError? error)
    {
        _value = value;
        _error = error;
    }

    public static Result<T> Ok(T value) => new(value, null);
    public static Result<T> Fail(DomainError error) => new(default, error ?? throw new ArgumentNullException(nameof(error)));

    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsOk => _error is null;

    public DomainError? Error => _error;

    /// <summary>The value; throws <see cref="InvalidOperationException"/> when this is an error (a programming mistake).</summary>
    public T Value => _error is null ? _value! : throw new InvalidOperationException($"Result holds an error, not a value: {_error}");

    public bool TryGetValue([MaybeNullWhen(false)] out T value, [NotNullWhen(false)] out DomainError? error)
    {
        value = _value;
        error = _error;
        return _error is null;
    }

    public Result<TOut> Map<TOut>(Func<T, TOut> map) => IsOk ? Result<TOut>.Ok(map(Value)) : Result<TOut>.Fail(Error);

    public Result<TOut> Bind<TOut>(Func<T, Result<TOut>> bind) => IsOk ? bind(Value) : Result<TOut>.Fail(Error);

    public static implicit operator Result<T>(T value) => Ok(value);
    public static implicit operator Result<T>(DomainError error) => Fail(error);

    public override string ToString() => IsOk ? $"Ok({_value})" : $"Fail({_error})";
}
