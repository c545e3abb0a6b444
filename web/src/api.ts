// The clients of protos/annotate/v1 over gRPC-Web, with the signed-in analyst's bearer token on every call.
import { GrpcWebFetchTransport } from '@protobuf-ts/grpcweb-transport';
import { RpcError } from '@protobuf-ts/runtime-rpc';
import { AdminClient } from '../gen/annotate/v1/admin.client';
import { AnnotationsClient } from '../gen/annotate/v1/annotations.client';
import { ArticlesClient } from '../gen/annotate/v1/articles.client';
import { ClaimsClient } from '../gen/annotate/v1/claims.client';
import { ConsensusClient } from '../gen/annotate/v1/consensus.client';
import { DiscussionClient } from '../gen/annotate/v1/discussion.client';
import { HistoryClient } from '../gen/annotate/v1/history.client';

export interface Api {
  admin: AdminClient;
  articles: ArticlesClient;
  annotations: AnnotationsClient;
  claims: ClaimsClient;
  consensus: ConsensusClient;
  discussion: DiscussionClient;
  history: HistoryClient;
}

/** Clients that call the server the page came from (its gRPC-Web endpoint), as the token's analyst. */
export function connect(token: string): Api {
  const transport = new GrpcWebFetchTransport({
    baseUrl: location.origin,
    format: 'binary',
    meta: { authorization: `Bearer ${token}` },
  });
  return {
    admin: new AdminClient(transport),
    articles: new ArticlesClient(transport),
    annotations: new AnnotationsClient(transport),
    claims: new ClaimsClient(transport),
    consensus: new ConsensusClient(transport),
    discussion: new DiscussionClient(transport),
    history: new HistoryClient(transport),
  };
}

/** A fresh request id per intended action: a retry of the same action would reuse it. */
export function requestId(): string {
  return crypto.randomUUID();
}

/** The gRPC status name of a failure ("UNAUTHENTICATED", ...), or "" when it is not an RPC error. */
export function statusOf(error: unknown): string {
  return error instanceof RpcError ? error.code : '';
}

/**
 * What to tell the analyst about a failed call. The server's messages are written for people (they name the
 * quote's places when it is ambiguous, the newer events when a version is stale), so they are shown as sent.
 */
export function describe(error: unknown): string {
  if (error instanceof RpcError) {
    const message = decodeURIComponent(error.message || '');
    switch (error.code) {
      case 'UNAUTHENTICATED': return 'The server did not accept the token (unknown, revoked or expired). Sign in again.';
      case 'PERMISSION_DENIED': return `Your roles do not allow this. ${message}`;
      case 'UNAVAILABLE': case 'INTERNAL': if (!message || /fetch|network/i.test(message)) return 'The server cannot be reached. Check that it is running with the web reader enabled.';
    }
    return message || error.code;
  }
  return error instanceof Error ? error.message : String(error);
}
