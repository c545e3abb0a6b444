namespace Annotate.EventStore;
