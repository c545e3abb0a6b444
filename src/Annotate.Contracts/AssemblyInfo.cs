namespace Annotate.Contracts;
