using System.Runtime.CompilerServices;

// The header codecs (percent-encoding, base64, grpc-timeout) are tested directly.
[assembly: InternalsVisibleTo("Annotate.Grpc.Tests")]
