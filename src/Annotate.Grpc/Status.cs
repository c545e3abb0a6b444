namespace Annotate.Grpc;

/// <summary>The gRPC status codes (numbers are the wire values).</summary>
public enum StatusCode
{
    OK = 0, Cancelled = 1, Unknown = 2, InvalidArgument = 3, DeadlineExceeded = 4, NotFound = 5,
    AlreadyExists = 6, PermissionDenied = 7, ResourceExhausted = 8, FailedPrecondition = 9, Aborted = 10,
    OutOfRange = 11, Unimplemented = 12, Internal = 13, Unavailable = 14, DataLoss = 15, Unauthenticated = 16,
}

/// <summary>A non-OK gRPC status, thrown by handlers (sent to the client) and by client calls (received).</summary>
public sealed class RpcException : Exception
{
    public RpcException(StatusCode code, string detail, Metadata? trailers = null)
        : base($"Status({code}, \"{detail}\")")
    {
        StatusCode = code;
        Detail = detail;
        Trailers = trailers ?? new Metadata();
    }

    public StatusCode StatusCode { get; }
    public string Detail { get; }
    public Metadata Trailers { get; }
}

/// <summary>Maps what HTTP and HTTP/2 report to gRPC status codes, as the gRPC spec prescribes.</summary>
internal static class StatusMapping
{
    // "HTTP to gRPC Status Code Mapping" (grpc/doc/http-grpc-status-mapping.md): used only when a
    // response carries no grpc-status.
    public static StatusCode FromHttpStatus(int httpStatus) => httpStatus switch
    {
        400 => StatusCode.Internal,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.Unimplemented,
        429 or 502 or 503 or 504 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    // RST_STREAM error codes (PROTOCOL-HTTP2.md, "Errors").
    public static StatusCode FromHttp2Error(long errorCode) => errorCode switch
    {
        0x7 => StatusCode.Unavailable,       // REFUSED_STREAM
        0x8 => StatusCode.Cancelled,         // CANCEL
        0xB => StatusCode.ResourceExhausted, // ENHANCE_YOUR_CALM
        0xC => StatusCode.PermissionDenied,  // INADEQUATE_SECURITY
        _ => StatusCode.Internal,
    };
}
