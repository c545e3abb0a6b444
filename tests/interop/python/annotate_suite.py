"""Every RPC of the Annotate contract called from Python (Debian's python3-grpcio) against the real server,
with bearer tokens, the methods and messages found by server reflection; writes JUnit XML.

    ANNOTATE_TARGET=127.0.0.1:50051 ANNOTATE_TOKEN=<admin token> [ANNOTATE_TLS_ROOT=cert.pem] \\
        /usr/bin/python3 annotate_suite.py [--junit FILE] [--label NAME] [-k PATTERN]

ANNOTATE_TOKEN is an admin's token (the server writes the first one to its Annotate:AdminTokenFile); the
suite registers its own analysts, adjudicator and auditor through the Admin service and acts as each with
the token it issues them. ANNOTATE_TLS_ROOT names the PEM certificate that signed the server's (issued to
127.0.0.1): the suite then speaks TLS. Every test imports its own article (ids unique to the run), so the
suite can run again, or next to the Node suite, against the same server. Prints unittest's progress, then
"<label>: N passed, N failed, N skipped"; exits 1 when anything failed or nothing ran.
"""

import hashlib
import json
import os
import sys
import unittest
import uuid

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from discovery import Api, health_pb2, reflect, reflection_pb2  # noqa: E402 - after the path is set
from run_suite import retire, run_guarded, run_main  # noqa: E402

RUN = uuid.uuid4().hex[:8]
# Code points matter: the globe is one code point but two UTF-16 units, the letters with diacritics and
# the Cyrillic are one code point but two UTF-8 bytes each.
TEXT = ("Über Kazakhstan 🌍: the census found that about 20 percent of residents are ethnic Russians. "
        "Officials in Astana — «официально» — said the share had fallen since 1989.\n"
        "A second paragraph mentions the census again without numbers.")
CLAIM = "about 20 percent of residents are ethnic Russians"
EVIDENCE = "the share had fallen since 1989"
HIGHLIGHT = "Officials in Astana"

# The contract (protos/annotate/v1): what reflection must describe, method for method.
CONTRACT = {
    "annotate.v1.Admin": ["CreateAnalyst", "ListAnalysts", "SetRoles", "IssueToken", "ListTokens", "RevokeToken", "WhoAmI", "EraseAnalyst"],
    "annotate.v1.Annotations": ["CreateHighlight", "ApplyTag", "RemoveTag", "RetractHighlight", "ListHighlights", "ReattachSpan"],
    "annotate.v1.Articles": ["ImportArticle", "ListArticles", "GetArticle", "ReviseArticle"],
    "annotate.v1.Claims": ["OpenClaim", "TakeStance", "WithdrawStance", "Adjudicate", "ReopenClaim", "MakeBlind", "RevealClaim"],
    "annotate.v1.Consensus": ["GetClaimView", "ListClaims", "GetArticleAgreement", "WatchArticle"],
    "annotate.v1.Discussion": ["PostReply", "EditReply", "RetractReply", "ListThread"],
    "annotate.v1.Search": ["Search"],
    "annotate.v1.History": ["Subscribe", "Replay", "VerifyAudit"],
    "annotate.v1.Audit": ["GetChainHead", "ExportLog", "GetClaimTimeline"],
}


def _setting(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set")
    return value


def open_channel():
    target = _setting("ANNOTATE_TARGET")
    root = os.environ.get("ANNOTATE_TLS_ROOT")
    if not root:
        return grpc.insecure_channel(target)
    with open(root, "rb") as f:
        return grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=f.read()))


def health_watch(channel, service="", timeout=60):
    watch = channel.unary_stream("/grpc.health.v1.Health/Watch", request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                                 response_deserializer=health_pb2.HealthCheckResponse.FromString)
    return watch(health_pb2.HealthCheckRequest(service=service), timeout=timeout)


def wait_serving(channel):
    """Returns once the server reports SERVING (it does after its start-up work: schema, first admin, seeds)."""
    call = health_watch(channel)
    try:
        for answer in call:
            if answer.status == health_pb2.HealthCheckResponse.SERVING:
                return
    finally:
        call.cancel()
    raise AssertionError("the health watch ended before the server reported SERVING")


def rid():
    return str(uuid.uuid4())


def quote(exact):
    return {"quote": {"exact": exact}}


class Suite(unittest.TestCase):
    """State shared by the tests: the channel, the API found by reflection, the run's analysts and tokens."""

    api = None
    tokens = {}

    @classmethod
    def setUpClass(cls):
        if Suite.api is not None:
            return
        channel = open_channel()
        grpc.channel_ready_future(channel).result(timeout=30)
        wait_serving(channel)
        Suite.api = Api.discover(channel)
        Suite.tokens = {"admin": _setting("ANNOTATE_TOKEN")}
        # The run's cast, registered and given tokens through the Admin service.
        for name, role in [("a1", "ROLE_ANALYST"), ("a2", "ROLE_ANALYST"), ("a3", "ROLE_ANALYST"),
                           ("judge", "ROLE_ADJUDICATOR"), ("auditor", "ROLE_AUDITOR")]:
            analyst_id = f"py-{RUN}-{name}"
            Suite.api.call("Admin", "CreateAnalyst", {"request_id": rid(), "analyst_id": analyst_id, "display_name": name, "roles": [role]},
                           token=Suite.tokens["admin"])
            issued = Suite.api.call("Admin", "IssueToken", {"request_id": rid(), "analyst_id": analyst_id, "label": "interop"},
                                    token=Suite.tokens["admin"])
            Suite.tokens[name] = issued.secret

    def id_of(self, name):
        return "admin" if name == "admin" else f"py-{RUN}-{name}"

    def call(self, service, method, request, who="admin", **kwargs):
        return self.api.call(service, method, request, token=self.tokens[who] if who else None, **kwargs)

    def refused(self, code, service, method, request, who="admin"):
        """Asserts the call fails with `code`; returns the error."""
        with self.assertRaises(grpc.RpcError) as caught:
            self.call(service, method, request, who=who)
        self.assertEqual(code, caught.exception.code(), caught.exception.details())
        return caught.exception

    def enum(self, name):
        return self.api.enum(name)

    def fresh_article(self):
        article_id = f"py-{RUN}-{uuid.uuid4().hex[:10]}"
        imported = self.call("Articles", "ImportArticle", {"request_id": rid(), "article_id": article_id, "title": "Census", "text": TEXT,
                                                           "source": "interop"})
        return article_id, imported

    def open_claim(self, article_id, who="a1", exact=CLAIM):
        return self.call("Claims", "OpenClaim", {"request_id": rid(), "article_id": article_id, "selector": quote(exact)}, who=who)

    def stance(self, claim_id, who, stance, **extra):
        return self.call("Claims", "TakeStance", {"request_id": rid(), "claim_id": claim_id, "stance": stance, **extra}, who=who)

    def view(self, claim_id, at_least, **extra):
        return self.call("Consensus", "GetClaimView", {"claim_id": claim_id, "min_position": at_least, **extra})

    def tallies(self, view):
        return {t.stance: t.count for t in view.tallies}


class ReflectionAndHealth(Suite):
    def test_reflection_lists_the_nine_services_of_the_contract_with_every_method_and_health(self):
        for service, methods in CONTRACT.items():
            self.assertIn(service, self.api.services)
            self.assertEqual(sorted(methods), sorted(m.name for m in self.api.service(service).methods))
        self.assertEqual(40, len(self.api.methods()))
        self.assertEqual(sorted(CONTRACT), sorted(s for s in self.api.services if s.startswith("annotate.")))
        self.assertIn("grpc.health.v1.Health", self.api.services)
        self.assertIn("grpc.reflection.v1.ServerReflection", self.api.services)
        # The streaming shapes are part of what reflection describes.
        self.assertTrue(self.api.service("annotate.v1.History").FindMethodByName("Subscribe").server_streaming)
        self.assertFalse(self.api.service("annotate.v1.Claims").FindMethodByName("OpenClaim").server_streaming)

    def test_reflection_answers_a_file_by_name_and_not_found_for_an_unknown_symbol(self):
        by_name, unknown = reflect(self.api.channel, [
            reflection_pb2.ServerReflectionRequest(file_by_filename="annotate/v1/claims.proto"),
            reflection_pb2.ServerReflectionRequest(file_containing_symbol="annotate.v1.NoSuchService")])
        self.assertIn("annotate/v1/claims.proto", self.api.files)
        self.assertGreater(len(by_name.file_descriptor_response.file_descriptor_proto), 0)
        self.assertEqual(grpc.StatusCode.NOT_FOUND.value[0], unknown.error_response.error_code)

    def test_health_reports_the_server_serving_and_an_unknown_service_not_found(self):
        check = self.api.channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                                             response_deserializer=health_pb2.HealthCheckResponse.FromString)
        self.assertEqual(health_pb2.HealthCheckResponse.SERVING, check(health_pb2.HealthCheckRequest(service=""), timeout=10).status)
        with self.assertRaises(grpc.RpcError) as caught:
            check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
        self.assertEqual(grpc.StatusCode.NOT_FOUND, caught.exception.code())
        call = health_watch(self.api.channel, timeout=10)
        try:
            self.assertEqual(health_pb2.HealthCheckResponse.SERVING, next(call).status)
        finally:
            call.cancel()


class Access(Suite):
    def test_whoami_names_the_admin_with_every_role(self):
        me = self.call("Admin", "WhoAmI", {})
        self.assertEqual("admin", me.analyst_id)
        self.assertEqual({self.enum(r) for r in ["ROLE_ANALYST", "ROLE_ADJUDICATOR", "ROLE_AUDITOR", "ROLE_ADMIN"]}, set(me.roles))

    def test_a_call_without_a_token_or_with_an_unknown_one_is_unauthenticated(self):
        self.refused(grpc.StatusCode.UNAUTHENTICATED, "Articles", "ListArticles", {}, who=None)
        self.tokens["forged"] = "tok000000000000.not-a-secret"
        self.refused(grpc.StatusCode.UNAUTHENTICATED, "Admin", "WhoAmI", {}, who="forged")

    def test_an_analyst_created_with_roles_is_listed_and_set_roles_replaces_them(self):
        analyst_id = f"py-{RUN}-{uuid.uuid4().hex[:6]}"
        created = self.call("Admin", "CreateAnalyst", {"request_id": rid(), "analyst_id": analyst_id, "display_name": "Aigerim Ä.", "roles": ["ROLE_ANALYST"]})
        self.assertEqual(analyst_id, created.analyst_id)
        self.assertEqual([self.enum("ROLE_ANALYST")], list(created.roles))
        self.refused(grpc.StatusCode.ALREADY_EXISTS, "Admin", "CreateAnalyst", {"request_id": rid(), "analyst_id": analyst_id, "display_name": "Someone else", "roles": ["ROLE_ANALYST"]})

        listed = self.call("Admin", "ListAnalysts", {}).analysts
        ids = [a.analyst_id for a in listed]
        self.assertEqual(sorted(ids), ids)
        self.assertEqual("Aigerim Ä.", next(a for a in listed if a.analyst_id == analyst_id).display_name)

        changed = self.call("Admin", "SetRoles", {"request_id": rid(), "analyst_id": analyst_id, "roles": ["ROLE_AUDITOR"]})
        self.assertEqual([self.enum("ROLE_AUDITOR")], list(changed.roles))
        self.tokens[analyst_id] = self.call("Admin", "IssueToken", {"request_id": rid(), "analyst_id": analyst_id}).secret
        self.assertEqual([self.enum("ROLE_AUDITOR")], list(self.call("Admin", "WhoAmI", {}, who=analyst_id).roles))
        article_id, _ = self.fresh_article()
        self.refused(grpc.StatusCode.PERMISSION_DENIED, "Annotations", "CreateHighlight",
                     {"request_id": rid(), "article_id": article_id, "selector": quote(HIGHLIGHT)}, who=analyst_id)

    def test_an_issued_token_works_is_listed_without_its_secret_and_stops_working_once_revoked(self):
        analyst_id = self.id_of("a1")
        issued = self.call("Admin", "IssueToken", {"request_id": rid(), "analyst_id": analyst_id, "label": "laptop"})
        self.assertTrue(issued.secret.startswith(issued.token.token_id + "."))
        self.tokens["laptop"] = issued.secret
        self.assertEqual(analyst_id, self.call("Admin", "WhoAmI", {}, who="laptop").analyst_id)

        mine = [t for t in self.call("Admin", "ListTokens", {"analyst_id": analyst_id}).tokens]
        self.assertTrue(all(t.analyst_id == analyst_id for t in mine))
        listed = next(t for t in mine if t.token_id == issued.token.token_id)
        self.assertEqual(("laptop", False), (listed.label, listed.revoked))
        self.assertNotIn(issued.secret.split(".", 1)[1], str(listed))

        # An analyst may revoke their own token, and it stops working at once.
        revoked = self.call("Admin", "RevokeToken", {"request_id": rid(), "token_id": issued.token.token_id}, who="laptop")
        self.assertGreater(revoked.position, 0)
        self.refused(grpc.StatusCode.UNAUTHENTICATED, "Admin", "WhoAmI", {}, who="laptop")
        listed = next(t for t in self.call("Admin", "ListTokens", {"analyst_id": analyst_id}).tokens if t.token_id == issued.token.token_id)
        self.assertTrue(listed.revoked)

    def test_an_erased_analyst_is_shown_by_id_with_no_token_left_and_erasing_again_records_nothing(self):
        analyst_id = f"py-{RUN}-{uuid.uuid4().hex[:6]}"
        self.call("Admin", "CreateAnalyst", {"request_id": rid(), "analyst_id": analyst_id, "display_name": "Erin Ä. Example",
                                             "roles": ["ROLE_ANALYST"]})
        self.call("Admin", "IssueToken", {"request_id": rid(), "analyst_id": analyst_id, "label": "erin laptop"})
        self.refused(grpc.StatusCode.INVALID_ARGUMENT, "Admin", "EraseAnalyst", {"request_id": rid(), "analyst_id": analyst_id, "reason": ""})

        erased = self.call("Admin", "EraseAnalyst", {"request_id": rid(), "analyst_id": analyst_id, "reason": "erasure request"})
        self.assertEqual(2, len(erased.erased_positions))  # the registration and the token's label
        self.assertFalse(erased.result.deduplicated)
        listed = next(a for a in self.call("Admin", "ListAnalysts", {}).analysts if a.analyst_id == analyst_id)
        self.assertEqual(analyst_id, listed.display_name)
        self.assertTrue(all(t.revoked and t.label == "" for t in self.call("Admin", "ListTokens", {"analyst_id": analyst_id}).tokens))
        again = self.call("Admin", "EraseAnalyst", {"request_id": rid(), "analyst_id": analyst_id, "reason": "again"})
        self.assertTrue(again.result.deduplicated)
        self.assertEqual(list(erased.erased_positions), list(again.erased_positions))


class Articles(Suite):
    def test_an_imported_article_is_read_back_with_its_code_point_length_and_hash_and_listed_in_pages(self):
        article_id, imported = self.fresh_article()
        self.assertGreater(imported.result.position, 0)
        self.assertEqual(64, len(imported.result.receipt_hash))
        self.assertEqual(len(TEXT), imported.article.length)  # code points, as Python's str counts
        self.assertEqual(hashlib.sha256(TEXT.encode("utf-8")).hexdigest(), imported.article.content_hash)

        article = self.call("Articles", "GetArticle", {"article_id": article_id}, who="a1")
        self.assertEqual((TEXT, "Census", "admin", 1), (article.text, article.title, article.imported_by, article.revision))

        seen, token = [], ""
        while True:
            page = self.call("Articles", "ListArticles", {"page": {"page_size": 2, "page_token": token}}, who="a2")
            self.assertLessEqual(len(page.articles), 2)
            self.assertTrue(all(a.text == "" for a in page.articles))
            seen += [a.article_id for a in page.articles]
            token = page.next_page_token
            if not token:
                break
        self.assertIn(article_id, seen)
        self.assertEqual(sorted(seen), seen)
        self.assertEqual(len(set(seen)), len(seen))

    def test_importing_other_text_under_an_existing_id_makes_a_revision_and_an_unknown_article_is_not_found(self):
        article_id, imported = self.fresh_article()
        again = self.call("Articles", "ImportArticle", {"request_id": rid(), "article_id": article_id, "title": "Census", "text": TEXT + " (edited)"})
        self.assertEqual(2, again.article.revision)
        self.assertEqual(TEXT + " (edited)", self.call("Articles", "GetArticle", {"article_id": article_id}).text)
        self.refused(grpc.StatusCode.NOT_FOUND, "Articles", "GetArticle", {"article_id": f"py-{RUN}-missing"})
        self.refused(grpc.StatusCode.INVALID_ARGUMENT, "Articles", "ImportArticle", {"request_id": rid(), "article_id": "Not A Slug", "text": "x"})
        self.refused(grpc.StatusCode.PERMISSION_DENIED, "Articles", "ImportArticle",
                     {"request_id": rid(), "article_id": f"py-{RUN}-by-analyst", "text": "x"}, who="a1")

    def test_a_revision_gives_an_article_a_new_text_as_its_next_revision_and_only_an_admin_may_revise(self):
        article_id, _ = self.fresh_article()
        edited = TEXT + " (corrected)"
        self.refused(grpc.StatusCode.PERMISSION_DENIED, "Articles", "ReviseArticle",
                     {"request_id": rid(), "article_id": article_id, "text": edited, "reason": "typo"}, who="a1")
        self.refused(grpc.StatusCode.INVALID_ARGUMENT, "Articles", "ReviseArticle",
                     {"request_id": rid(), "article_id": article_id, "text": " ", "reason": "typo"})
        revised = self.call("Articles", "ReviseArticle", {"request_id": rid(), "article_id": article_id, "text": edited, "reason": "typo"})
        self.assertEqual(2, revised.article.revision)
        self.assertEqual(hashlib.sha256(edited.encode("utf-8")).hexdigest(), revised.article.content_hash)
        article = self.call("Articles", "GetArticle", {"article_id": article_id}, who="a1")
        self.assertEqual((edited, 2, "typo"), (article.text, article.revision, article.revision_reason))


class Annotations(Suite):
    def test_a_highlight_made_by_quote_is_listed_at_code_point_offsets_with_note_tags_and_author(self):
        article_id, _ = self.fresh_article()
        made = self.call("Annotations", "CreateHighlight", {"request_id": rid(), "article_id": article_id, "selector": quote(HIGHLIGHT),
                                                            "note": "who said it — «кто»", "tags": ["Source Needed"]}, who="a1")
        start = TEXT.index(HIGHLIGHT)
        self.assertEqual((start, start + len(HIGHLIGHT)), (made.highlight.selector.position.start, made.highlight.selector.position.end))
        listed = self.call("Annotations", "ListHighlights", {"article_id": article_id}, who="a2")
        self.assertGreaterEqual(listed.as_of_position, made.result.position)
        [highlight] = listed.highlights
        self.assertEqual(made.highlight.highlight_id, highlight.highlight_id)
        self.assertEqual((HIGHLIGHT, "who said it — «кто»", self.id_of("a1")), (highlight.selector.quote.exact, highlight.note, highlight.author))
        self.assertEqual([("source-needed", [self.id_of("a1")])], [(t.tag, list(t.analysts)) for t in highlight.tags])

    def test_tags_are_normalised_counted_per_analyst_and_removed_by_their_owner(self):
        article_id, _ = self.fresh_article()
        made = self.call("Annotations", "CreateHighlight", {"request_id": rid(), "article_id": article_id, "selector": quote(HIGHLIGHT)}, who="a1")
        target = {"highlight_id": made.highlight.highlight_id}
        for who in ("a1", "a2"):
            self.call("Annotations", "ApplyTag", {"request_id": rid(), "target": target, "tag": "  Needs Context "}, who=who)
        removed = self.call("Annotations", "RemoveTag", {"request_id": rid(), "target": target, "tag": "needs-context"}, who="a1")
        self.assertGreater(removed.position, 0)
        [highlight] = self.call("Annotations", "ListHighlights", {"article_id": article_id}).highlights
        self.assertEqual([("needs-context", [self.id_of("a2")])], [(t.tag, list(t.analysts)) for t in highlight.tags])

        claim = self.open_claim(article_id)
        tagged = self.call("Annotations", "ApplyTag", {"request_id": rid(), "target": {"claim_id": claim.claim_id}, "tag": "Demographics"}, who="a3")
        view = self.view(claim.claim_id, tagged.position)
        self.assertEqual([("demographics", [self.id_of("a3")])], [(t.tag, list(t.analysts)) for t in view.tags])

    def test_only_the_author_may_retract_a_highlight_and_the_list_as_of_before_still_shows_it(self):
        article_id, _ = self.fresh_article()
        made = self.call("Annotations", "CreateHighlight", {"request_id": rid(), "article_id": article_id, "selector": quote(HIGHLIGHT)}, who="a1")
        request = {"request_id": rid(), "highlight_id": made.highlight.highlight_id}
        self.refused(grpc.StatusCode.PERMISSION_DENIED, "Annotations", "RetractHighlight", request, who="a2")
        retracted = self.call("Annotations", "RetractHighlight", request, who="a1")
        self.assertGreater(retracted.position, made.result.position)
        self.assertEqual([], list(self.call("Annotations", "ListHighlights", {"article_id": article_id}).highlights))
        before = self.call("Annotations", "ListHighlights", {"article_id": article_id, "as_of": {"position": made.result.position}})
        self.assertEqual([made.highlight.highlight_id], [h.highlight_id for h in before.highlights])

    def test_a_reversed_span_is_invalid_argument_and_nothing_is_written(self):
        article_id, imported = self.fresh_article()
        error = self.refused(grpc.StatusCode.INVALID_ARGUMENT, "Annotations", "CreateHighlight",
                             {"request_id": rid(), "article_id": article_id, "selector": {"position": {"start": 10, "end": 5}}}, who="a1")
        self.assertTrue(error.details())
        self.assertEqual([], list(self.call("Annotations", "ListHighlights", {"article_id": article_id}).highlights))
        self.refused(grpc.StatusCode.NOT_FOUND, "Annotations", "CreateHighlight",
                     {"request_id": rid(), "article_id": f"py-{RUN}-missing", "selector": quote(HIGHLIGHT)}, who="a1")


    def test_a_highlight_a_revision_orphaned_is_reattached_by_its_author_only_and_only_once(self):
        article_id, _ = self.fresh_article()
        made = self.call("Annotations", "CreateHighlight", {"request_id": rid(), "article_id": article_id, "selector": quote(HIGHLIGHT)}, who="a1")
        edited = TEXT.replace("Officials in Astana — «официально» — said the share had fallen since 1989.\n", "")
        self.call("Articles", "ReviseArticle", {"request_id": rid(), "article_id": article_id, "text": edited, "reason": "cut"})
        [orphan] = self.call("Annotations", "ListHighlights", {"article_id": article_id}).highlights
        self.assertEqual((3, 1, 2), (orphan.anchor.status, orphan.anchor.revision, orphan.anchor.orphaned_on_revision))
        target = {"highlight_id": made.highlight.highlight_id}
        self.refused(grpc.StatusCode.NOT_FOUND, "Annotations", "ReattachSpan",
                     {"request_id": rid(), "target": {"highlight_id": "hmissing"}, "selector": quote("A second paragraph")}, who="a1")
        self.refused(grpc.StatusCode.PERMISSION_DENIED, "Annotations", "ReattachSpan",
                     {"request_id": rid(), "target": target, "selector": quote("A second paragraph")}, who="a2")
        self.refused(grpc.StatusCode.INVALID_ARGUMENT, "Annotations", "ReattachSpan",
                     {"request_id": rid(), "target": target, "selector": quote(HIGHLIGHT)}, who="a1")
        moved = self.call("Annotations", "ReattachSpan", {"request_id": rid(), "target": target, "selector": quote("A second paragraph")}, who="a1")
        start = edited.index("A second paragraph")
        self.assertEqual((4, 2, self.id_of("a1")), (moved.anchor.status, moved.anchor.revision, moved.anchor.reattached_by))
        self.assertEqual(start, moved.selector.position.start)
        self.refused(grpc.StatusCode.FAILED_PRECONDITION, "Annotations", "ReattachSpan",
                     {"request_id": rid(), "target": target, "selector": quote("A second paragraph")}, who="a1")


class ClaimsAndConsensus(Suite):
    def test_opening_a_claim_over_the_same_text_again_returns_the_existing_claim(self):
        article_id, _ = self.fresh_article()
        first = self.open_claim(article_id)
        start = TEXT.index(CLAIM)
        self.assertFalse(first.existing)
        self.assertEqual((start, start + len(CLAIM)), (first.selector.position.start, first.selector.position.end))
        # Almost the same range, by position this time: intersection over union >= 0.8.
        again = self.call("Claims", "OpenClaim", {"request_id": rid(), "article_id": article_id,
                                                  "selector": {"position": {"start": start, "end": start + len(CLAIM) - 3}}}, who="a2")
        self.assertTrue(again.existing)
        self.assertEqual(first.claim_id, again.claim_id)

    def test_three_stances_reach_the_quorum_and_the_view_lists_and_agreement_count_them(self):
        article_id, _ = self.fresh_article()
        claim_id = self.open_claim(article_id).claim_id
        self.stance(claim_id, "a1", "STANCE_REFUTES", rationale="census 2021",
                    evidence=[{"article_id": article_id, "selector": quote(EVIDENCE)}])
        pending = self.view(claim_id, 0)
        self.assertEqual(self.enum("CLAIM_STATUS_PENDING"), pending.status)
        self.stance(claim_id, "a2", "STANCE_REFUTES")
        last = self.stance(claim_id, "a3", "STANCE_SUPPORTS")

        view = self.view(claim_id, last.position)
        self.assertEqual(self.enum("CLAIM_STATUS_REFUTED"), view.status)
        self.assertEqual({self.enum("STANCE_SUPPORTS"): 1, self.enum("STANCE_REFUTES"): 2}, self.tallies(view))
        self.assertEqual([self.enum("STANCE_SUPPORTS"), self.enum("STANCE_REFUTES")], [t.stance for t in view.tallies])
        self.assertEqual(self.enum("STANCE_REFUTES"), view.leading_stance)
        self.assertAlmostEqual(2 / 3, view.agreement, places=3)
        self.assertEqual(3, view.quorum)
        self.assertEqual(sorted(self.id_of(a) for a in ("a1", "a2", "a3")), list(view.contributors))
        self.assertEqual([(self.id_of("a1"), EVIDENCE)], [(e.analyst, e.span.selector.quote.exact) for e in view.evidence])
        self.assertEqual(TEXT.index(EVIDENCE), view.evidence[0].span.selector.position.start)
        self.assertGreaterEqual(view.last_position, last.position)

        refuted = self.call("Consensus", "ListClaims", {"article_id": article_id, "statuses": ["CLAIM_STATUS_REFUTED"]})
        self.assertEqual([claim_id], [c.claim_id for c in refuted.claims])
        self.assertEqual([], list(self.call("Consensus", "ListClaims", {"article_id": article_id, "statuses": ["CLAIM_STATUS_SUPPORTED"]}).claims))
        agreement = self.call("Consensus", "GetArticleAgreement", {"article_id": article_id})
        self.assertEqual((1, 3, 3), (agreement.units, agreement.analysts, agreement.pairable_values))
        self.assertGreaterEqual(agreement.as_of_position, last.position)

    def test_a_withdrawn_stance_drops_the_claim_below_the_quorum_and_cannot_be_withdrawn_twice(self):
        article_id, _ = self.fresh_article()
        claim_id = self.open_claim(article_id).claim_id
        for who in ("a1", "a2", "a3"):
            self.stance(claim_id, who, "STANCE_NEEDS_CONTEXT")
        request = {"request_id": rid(), "claim_id": claim_id}
        withdrawn = self.call("Claims", "WithdrawStance", request, who="a3")
        view = self.view(claim_id, withdrawn.position)
        self.assertEqual(self.enum("CLAIM_STATUS_PENDING"), view.status)
        self.assertEqual({self.enum("STANCE_NEEDS_CONTEXT"): 2}, self.tallies(view))
        self.refused(grpc.StatusCode.FAILED_PRECONDITION, "Claims", "WithdrawStance", {"request_id": rid(), "claim_id": claim_id}, who="a3")

    def test_the_same_request_id_twice_is_carried_out_once(self):
        article_id, _ = self.fresh_article()
        claim_id = self.open_claim(article_id).claim_id
        request = {"request_id": rid(), "claim_id": claim_id, "stance": "STANCE_UNVERIFIABLE"}
        first = self.call("Claims", "TakeStance", request, who="a1")
        second = self.call("Claims", "TakeStance", request, who="a1")
        self.assertEqual((False, True), (first.deduplicated, second.deduplicated))
        self.assertEqual((first.position, first.receipt_hash), (second.position, second.receipt_hash))

    def test_adjudication_needs_the_current_version_overrides_the_vote_until_the_claim_is_reopened(self):
        article_id, _ = self.fresh_article()
        claim_id = self.open_claim(article_id).claim_id
        for who in ("a1", "a2", "a3"):
            last = self.stance(claim_id, who, "STANCE_SUPPORTS")
        view = self.view(claim_id, last.position)
        self.assertEqual(self.enum("CLAIM_STATUS_SUPPORTED"), view.status)

        verdict = {"claim_id": claim_id, "verdict": "STANCE_REFUTES", "rationale": "official statistics"}
        self.refused(grpc.StatusCode.PERMISSION_DENIED, "Claims", "Adjudicate", {"request_id": rid(), "expected_version": view.version, **verdict}, who="a1")
        self.refused(grpc.StatusCode.ABORTED, "Claims", "Adjudicate", {"request_id": rid(), "expected_version": view.version - 1, **verdict}, who="judge")
        adjudicated = self.call("Claims", "Adjudicate", {"request_id": rid(), "expected_version": view.version, **verdict}, who="judge")
        after = self.view(claim_id, adjudicated.position)
        self.assertEqual(self.enum("CLAIM_STATUS_ADJUDICATED"), after.status)
        self.assertEqual((self.enum("STANCE_REFUTES"), self.id_of("judge")), (after.adjudication.verdict, after.adjudication.adjudicator))
        self.refused(grpc.StatusCode.FAILED_PRECONDITION, "Claims", "TakeStance",
                     {"request_id": rid(), "claim_id": claim_id, "stance": "STANCE_REFUTES"}, who="a1")

        reopened = self.call("Claims", "ReopenClaim", {"request_id": rid(), "claim_id": claim_id, "reason": "new census"}, who="judge")
        self.assertEqual(self.enum("CLAIM_STATUS_SUPPORTED"), self.view(claim_id, reopened.position).status)
        # The history keeps the adjudicated moment.
        self.assertEqual(self.enum("CLAIM_STATUS_ADJUDICATED"), self.view(claim_id, 0, as_of={"position": adjudicated.position}).status)

    def test_watch_article_sends_the_current_views_then_the_marker_then_each_change(self):
        article_id, _ = self.fresh_article()
        claim_id = self.open_claim(article_id).claim_id
        call = self.call("Consensus", "WatchArticle", {"article_id": article_id}, who="a2", timeout=60)
        try:
            first = next(call)
            self.assertEqual(claim_id, first.view.claim_id)
            marker = next(call)
            self.assertEqual("caught_up_position", marker.WhichOneof("update"))
            taken = self.stance(claim_id, "a1", "STANCE_REFUTES")
            change = next(call)
            self.assertEqual(claim_id, change.view.claim_id)
            self.assertGreaterEqual(change.view.last_position, taken.position)
            self.assertEqual([(self.id_of("a1"), self.enum("STANCE_REFUTES"))], [(s.analyst, s.stance) for s in change.view.stances])
        finally:
            call.cancel()


class History(Suite):
    def test_subscribe_streams_the_articles_events_then_the_marker_then_live_ones(self):
        article_id, imported = self.fresh_article()
        opened = self.open_claim(article_id)
        call = self.call("History", "Subscribe", {"after_position": 0, "filter": {"article_id": article_id}}, who="a3", timeout=60)
        try:
            caught_up = []
            for item in call:
                if item.WhichOneof("item") == "caught_up_position":
                    self.assertGreaterEqual(item.caught_up_position, opened.result.position)
                    break
                caught_up.append(item.event)
            self.assertEqual([imported.result.position, opened.result.position], [e.position for e in caught_up])
            self.assertEqual(["article-imported.v1", "claim-opened.v1"], [e.type for e in caught_up])
            self.assertEqual(["admin", self.id_of("a1")], [e.actor for e in caught_up])
            taken = self.stance(opened.claim_id, "a2", "STANCE_SUPPORTS")
            live = next(call).event
            self.assertEqual((taken.position, "stance-taken.v1", self.id_of("a2"), opened.claim_id), (live.position, live.type, live.actor, live.claim_id))
            self.assertEqual(taken.receipt_hash, live.hash)
        finally:
            call.cancel()

    def test_replay_returns_a_claims_events_in_a_range_and_is_refused_to_analysts(self):
        article_id, _ = self.fresh_article()
        opened = self.open_claim(article_id)
        taken = self.stance(opened.claim_id, "a1", "STANCE_REFUTES")
        request_id = rid()
        withdrawn = self.call("Claims", "WithdrawStance", {"request_id": request_id, "claim_id": opened.claim_id}, who="a1")
        events = list(self.call("History", "Replay", {"from_position": opened.result.position, "to_position": withdrawn.position,
                                                      "filter": {"claim_id": opened.claim_id}}, who="auditor"))
        self.assertEqual([opened.result.position, taken.position, withdrawn.position], [e.position for e in events])
        self.assertEqual(["claim-opened.v1", "stance-taken.v1", "stance-withdrawn.v1"], [e.type for e in events])
        self.assertEqual(request_id, events[-1].request_id)
        self.assertIn(opened.claim_id, events[0].data_json)
        with self.assertRaises(grpc.RpcError) as caught:
            list(self.call("History", "Replay", {"from_position": 1}, who="a1"))
        self.assertEqual(grpc.StatusCode.PERMISSION_DENIED, caught.exception.code())

    def test_verify_audit_walks_the_chain_and_checks_receipts_naming_one_that_does_not_hold(self):
        article_id, imported = self.fresh_article()
        receipt = {"position": imported.result.position, "hash": imported.result.receipt_hash}
        forged = {"position": imported.result.position, "hash": "0" * 64}
        items = list(self.call("History", "VerifyAudit", {"receipts": [receipt, forged]}, who="auditor", timeout=120))
        result = items[-1].result
        self.assertTrue(all(i.WhichOneof("item") == "progress" for i in items[:-1]))
        self.assertGreaterEqual(result.events_checked, imported.result.position)
        self.assertFalse(result.HasField("first_broken"))
        self.assertEqual([True, False], [r.holds for r in result.receipts])
        self.assertTrue(result.receipts[1].reason)
        self.assertFalse(result.ok)  # a receipt that does not hold fails the audit

        intact = list(self.call("History", "VerifyAudit", {"receipts": [receipt]}, who="auditor", timeout=120))[-1].result
        self.assertTrue(intact.ok)
        self.assertEqual(64, len(intact.head_hash))

    def test_the_head_the_exported_log_and_a_claim_timeline_agree_with_the_history(self):
        article_id, _ = self.fresh_article()
        claim_id = self.open_claim(article_id).claim_id
        self.stance(claim_id, "a1", self.enum("STANCE_REFUTES"))
        self.stance(claim_id, "a2", self.enum("STANCE_REFUTES"))
        last = self.stance(claim_id, "a3", self.enum("STANCE_SUPPORTS"))

        head = self.call("Audit", "GetChainHead", {}, who="a1")
        self.assertGreaterEqual(head.position, last.position)
        self.assertTrue(head.text.startswith(f"annotate-head {head.position} {head.link} "))

        exported = list(self.call("Audit", "ExportLog", {"to_position": head.position}, who="auditor", timeout=120))
        self.assertEqual((head.position, head.link), (exported[-1].position, exported[-1].link))
        self.assertEqual(last.receipt_hash, next(e.link for e in exported if e.position == last.position))
        # An event erased since (Admin.EraseAnalyst) hashes to the digest its erasure recorded, not the linked one.
        erased = {x["position"]: x["dataDigest"] for e in exported if e.type == "analyst-erased.v1"
                  for x in json.loads(e.data_json)["erased"]}
        for e in exported:
            if not e.data_withheld:
                self.assertEqual(hashlib.sha256(e.data_json.encode("utf-8")).hexdigest(), erased.get(e.position, e.data_digest), e.position)
            self.assertEqual(hashlib.sha256(e.metadata_json.encode("utf-8")).hexdigest(), e.metadata_digest, e.position)
        with self.assertRaises(grpc.RpcError) as caught:
            list(self.call("Audit", "ExportLog", {}, who="a1"))
        self.assertEqual(grpc.StatusCode.PERMISSION_DENIED, caught.exception.code())

        timeline = self.call("Audit", "GetClaimTimeline", {"claim_id": claim_id}, who="a1")
        statuses = [e.after.status for e in timeline.entries if "status" in e.changed]
        self.assertEqual([self.enum("CLAIM_STATUS_PENDING"), self.enum("CLAIM_STATUS_REFUTED")], statuses)
        self.assertEqual(last.position, timeline.entries[-1].position)
        self.assertEqual(self.id_of("a3"), timeline.entries[-1].analyst)
        self.assertEqual(2, len(timeline.why.stances))


class DiscussionBlindAndSearch(Suite):
    def test_a_thread_is_posted_answered_edited_retracted_and_listed_blind_hides_reveal_shows_and_search_finds(self):
        article_id, _ = self.fresh_article()
        claim_id = self.open_claim(article_id).claim_id
        question = self.call("Discussion", "PostReply", {"request_id": rid(), "target": {"claim_id": claim_id}, "body": "Which census?"},
                             who="a1").reply
        answer = self.call("Discussion", "PostReply", {"request_id": rid(), "target": {"claim_id": claim_id}, "parent_id": question.reply_id,
                                                       "body": "The 2021 one."}, who="a2").reply
        self.call("Discussion", "EditReply", {"request_id": rid(), "reply_id": answer.reply_id, "body": "The 2009 one."}, who="a2")
        self.call("Discussion", "RetractReply", {"request_id": rid(), "reply_id": question.reply_id}, who="a1")
        thread = self.call("Discussion", "ListThread", {"target": {"claim_id": claim_id}}, who="a3").replies
        self.assertEqual([(question.reply_id, True, ""), (answer.reply_id, False, "The 2009 one.")],
                         [(r.reply_id, r.retracted, r.body) for r in thread])

        self.call("Claims", "MakeBlind", {"request_id": rid(), "claim_id": claim_id}, who="judge")
        word = "census" + uuid.uuid4().hex[:10]
        self.stance(claim_id, "a1", "STANCE_REFUTES", rationale=f"the {word} disagrees")
        hidden = self.call("Consensus", "GetClaimView", {"claim_id": claim_id}, who="a3")
        self.assertTrue(hidden.hidden)
        self.assertEqual(0, len(hidden.stances))
        self.assertEqual(0, len(self.call("Search", "Search", {"query": word}, who="a3").hits))
        self.call("Claims", "RevealClaim", {"request_id": rid(), "claim_id": claim_id}, who="judge")
        self.assertFalse(self.call("Consensus", "GetClaimView", {"claim_id": claim_id}, who="a3").hidden)
        self.assertEqual([claim_id], [h.claim_id for h in self.call("Search", "Search", {"query": word}, who="a3").hits])


class Coverage(unittest.TestCase):
    """Runs last: every method that reflection describes was called by the tests above."""

    def test_every_method_of_the_contract_was_called(self):
        if Suite.api is None or os.environ.get("ANNOTATE_SUITE_FILTERED"):
            self.skipTest("only a part of the suite ran")
        self.assertEqual([], sorted(Suite.api.methods() - Suite.api.called))


CLASSES = [ReflectionAndHealth, Access, Articles, Annotations, ClaimsAndConsensus, History, DiscussionBlindAndSearch, Coverage]


def main():
    def load(loader):
        if loader.testNamePatterns:
            os.environ["ANNOTATE_SUITE_FILTERED"] = "1"
        return unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in CLASSES)

    code = run_main("annotate-python", load)
    if Suite.api is not None:
        retire(Suite.api.channel)
    return code


if __name__ == "__main__":
    run_guarded(main)
