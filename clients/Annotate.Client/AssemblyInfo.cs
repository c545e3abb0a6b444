namespace Annotate.Client;
