namespace Annotate.Domain;
