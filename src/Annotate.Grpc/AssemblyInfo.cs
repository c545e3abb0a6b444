namespace Annotate.Grpc;
