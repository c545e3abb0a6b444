namespace Annotate.Testing;
