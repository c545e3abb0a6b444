using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Annotate.Client.Tests")]
