"""Calls the Annotate services from Python (Debian's python3-grpcio) with a bearer token,
so the public contract is shown to work from another language, and writes JUnit XML.

    ANNOTATE_TARGET=127.0.0.1:50051 ANNOTATE_TOKEN=<admin token> \\
        /usr/bin/python3 annotate_suite.py [--junit FILE] [--label NAME] [-k PATTERN]

ANNOTATE_TOKEN is an admin's token (the server writes the first one to its
Annotate:AdminTokenFile); the admin holds every role, so it may also take stances.
Messages are generated at run time from protos/annotate/v1 with Debian's protoc 3.21
(see interop_support.py for why); calls go through channel.unary_unary / unary_stream
with the full method path. Prints unittest's progress, then "<label>: N passed, N failed,
N skipped"; exits 1 when anything failed or nothing ran.
"""

import atexit
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import uuid

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_suite import retire, run_main  # noqa: E402 - after the path is set
PROTOS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "protos"))
SERVICES = ["admin", "annotations", "articles", "claims", "common", "consensus", "history"]

# The seed article that states the claim, and the claim as it reads there.
SEED_ARTICLE = "russia-involvement-kazakhstan-crisis"
SEED_CLAIM = "Kazakhstan has a large Russian majority"


def _generate():
    """Generates annotate/v1/*_pb2.py into a temporary folder and imports them as the package annotate.v1."""
    out = tempfile.mkdtemp(prefix="annotate-py-")
    atexit.register(shutil.rmtree, out, True)
    protoc = os.environ.get("PROTOC") or shutil.which("protoc") or "/usr/bin/protoc"
    files = [f"annotate/v1/{name}.proto" for name in SERVICES]
    subprocess.run([protoc, f"-I{PROTOS}", f"--python_out={out}", *files], check=True)
    # The generated modules import each other as "annotate.v1.<name>_pb2": a namespace package under `out`.
    sys.path.insert(0, out)
    return {name: importlib.import_module(f"annotate.v1.{name}_pb2") for name in SERVICES}


PB = _generate()
admin_pb2, articles_pb2, claims_pb2, common_pb2, consensus_pb2, history_pb2 = (
    PB["admin"], PB["articles"], PB["claims"], PB["common"], PB["consensus"], PB["history"])


def _setting(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set")
    return value


class AnnotateSuite(unittest.TestCase):
    """A few RPCs of every kind of the contract, with and without a token."""

    @classmethod
    def setUpClass(cls):
        cls.channel = grpc.insecure_channel(_setting("ANNOTATE_TARGET"))
        cls.token = _setting("ANNOTATE_TOKEN")
        grpc.channel_ready_future(cls.channel).result(timeout=30)

    @classmethod
    def tearDownClass(cls):
        retire(cls.channel)

    def call(self, service, method, request, response_type, token=True):
        """A unary call of annotate.v1.<service>/<method>, with the admin token unless token is False."""
        stub = self.channel.unary_unary(
            f"/annotate.v1.{service}/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_type.FromString)
        metadata = (("authorization", f"Bearer {self.token}"),) if token else ()
        return stub(request, metadata=metadata, timeout=30)

    def open_seed_claim(self):
        return self.call("Claims", "OpenClaim", claims_pb2.OpenClaimRequest(
            request_id=str(uuid.uuid4()), article_id=SEED_ARTICLE,
            selector=common_pb2.Selector(quote=common_pb2.TextQuote(exact=SEED_CLAIM))), claims_pb2.OpenClaimResponse)

    def test_whoami_names_the_admin_with_every_role(self):
        me = self.call("Admin", "WhoAmI", admin_pb2.WhoAmIRequest(), admin_pb2.Analyst)
        self.assertEqual("admin", me.analyst_id)
        self.assertIn(common_pb2.ROLE_ADMIN, me.roles)

    def test_list_articles_names_the_five_seeds_in_id_order_without_text(self):
        listed = self.call("Articles", "ListArticles", articles_pb2.ListArticlesRequest(), articles_pb2.ListArticlesResponse)
        ids = [a.article_id for a in listed.articles]
        self.assertIn(SEED_ARTICLE, ids)
        self.assertGreaterEqual(len(ids), 5)
        self.assertEqual(sorted(ids), ids)
        self.assertTrue(all(a.text == "" and len(a.content_hash) == 64 for a in listed.articles))

    def test_a_claim_opened_by_quote_is_placed_at_python_code_point_offsets(self):
        article = self.call("Articles", "GetArticle", articles_pb2.GetArticleRequest(article_id=SEED_ARTICLE), articles_pb2.Article)
        opened = self.open_seed_claim()
        # Offsets are code points, which is what Python's str counts. The text may wrap the claim
        # across a line; the server matches whitespace loosely and answers the text as stored.
        found = re.search(r"\s+".join(map(re.escape, SEED_CLAIM.split())), article.text)
        self.assertIsNotNone(found)
        self.assertEqual(found.start(), opened.selector.position.start)
        self.assertEqual(found.end(), opened.selector.position.end)
        self.assertEqual(found.group(0), opened.selector.quote.exact)
        self.assertEqual(article.text[opened.selector.position.start:opened.selector.position.end], opened.selector.quote.exact)
        self.assertEqual(len(article.text), article.length)

    def test_a_stance_shows_in_the_claim_view(self):
        claim_id = self.open_seed_claim().claim_id
        result = self.call("Claims", "TakeStance", claims_pb2.TakeStanceRequest(
            request_id=str(uuid.uuid4()), claim_id=claim_id, stance=common_pb2.STANCE_REFUTES, rationale="census",
            evidence=[common_pb2.ArticleSpan(article_id="kazakhstan-concerned-about-invasion",
                                             selector=common_pb2.Selector(quote=common_pb2.TextQuote(exact="about 20 percent")))]),
            common_pb2.CommandResult)
        self.assertGreater(result.position, 0)
        self.assertEqual(64, len(result.receipt_hash))

        view = self.call("Consensus", "GetClaimView", consensus_pb2.GetClaimViewRequest(claim_id=claim_id, min_position=result.position), consensus_pb2.ClaimView)
        self.assertEqual(claim_id, view.claim_id)
        self.assertEqual(SEED_ARTICLE, view.article_id)
        self.assertGreaterEqual(view.last_position, result.position)
        mine = [s for s in view.stances if s.analyst == "admin"]
        self.assertEqual(1, len(mine))
        self.assertEqual(common_pb2.STANCE_REFUTES, mine[0].stance)
        self.assertIn("admin", view.contributors)
        self.assertTrue(any(e.span.selector.quote.exact == "about 20 percent" for e in view.evidence))

    def test_the_same_request_id_twice_is_carried_out_once(self):
        claim_id = self.open_seed_claim().claim_id
        request = claims_pb2.TakeStanceRequest(request_id=str(uuid.uuid4()), claim_id=claim_id, stance=common_pb2.STANCE_NEEDS_CONTEXT)
        first = self.call("Claims", "TakeStance", request, common_pb2.CommandResult)
        second = self.call("Claims", "TakeStance", request, common_pb2.CommandResult)
        self.assertFalse(first.deduplicated)
        self.assertTrue(second.deduplicated)
        self.assertEqual(first.position, second.position)

    def test_subscribe_streams_the_history_then_the_caught_up_marker(self):
        stub = self.channel.unary_stream(
            "/annotate.v1.History/Subscribe",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=history_pb2.SubscribeResponse.FromString)
        call = stub(history_pb2.SubscribeRequest(after_position=0), metadata=(("authorization", f"Bearer {self.token}"),), timeout=60)
        positions = []
        try:
            for item in call:
                if item.WhichOneof("item") == "caught_up_position":
                    self.assertGreaterEqual(item.caught_up_position, positions[-1])
                    break
                positions.append(item.event.position)
                self.assertTrue(item.event.type and item.event.stream_id and item.event.actor)
        finally:
            call.cancel()
        self.assertEqual(list(range(1, len(positions) + 1)), positions)

    def test_a_call_without_a_token_is_unauthenticated(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.call("Articles", "ListArticles", articles_pb2.ListArticlesRequest(), articles_pb2.ListArticlesResponse, token=False)
        self.assertEqual(grpc.StatusCode.UNAUTHENTICATED, caught.exception.code())
        self.assertIn("token", caught.exception.details())

    def test_an_unknown_token_is_unauthenticated(self):
        saved, self.token = self.token, "tok000000000000.not-a-secret"
        try:
            with self.assertRaises(grpc.RpcError) as caught:
                self.call("Admin", "WhoAmI", admin_pb2.WhoAmIRequest(), admin_pb2.Analyst)
        finally:
            self.token = saved
        self.assertEqual(grpc.StatusCode.UNAUTHENTICATED, caught.exception.code())


def main():
    # The echo suite's runner parses the options, records the results and writes the report.
    return run_main("annotate-python", lambda loader: loader.loadTestsFromTestCase(AnnotateSuite))


if __name__ == "__main__":
    from run_suite import run_guarded  # noqa: E402 - HERE is on the path

    run_guarded(main)
