"""JSON-LD with shipped contexts only: a loader that never touches the network, and strict RDF canonicalisation."""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import uuid
from pathlib import Path

from cachetools import LRUCache
from pyld import jsonld

CONTEXTS_DIR = Path(__file__).resolve().parent / "contexts"

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
# Stint's own extension terms; a stable identifier, resolved from the shipped file (see contexts/README.md).
STINT_V1 = "https://stint.example/contexts/stint-v1.json"

SHIPPED = {
    VC_V2: "credentials-v2.jsonld",
    OB_V3: "ob-context-3.0.3.json",
    STINT_V1: "stint-v1.json",
}


class ContextNotShipped(ValueError):
    """A document referenced a context that is not among the files shipped with the service."""


class NotStrictJsonLd(ValueError):
    """The document uses a term or IRI its contexts do not define, so that part would go unsigned."""


NQUADS = "application/n-quads"
# Canonical forms each loader remembers, by the document's text (about 3 KB each): a credential is verified again and
# again (its page, its PDF, each university and employer it is shown to), and canonicalising it is most of the cost.
CANONICAL_FORMS_KEPT = 1024
# Contexts each loader remembers processed (a dozen for a credential: its own, and the type-scoped ones of OB 3.0).
PROCESSED_CONTEXTS_KEPT = 256


class ShippedContextLoader:
    """A pyld document loader serving only known context files; every other URL is refused.

    Its contexts never change, so neither does the canonical form of a document read with them: it remembers the
    last `CANONICAL_FORMS_KEPT` it gave (`canonicalize`), by the SHA-256 of the document's exact JSON text; nor does
    a context processed on top of another (`_RememberingProcessor`).
    """

    def __init__(self, files: dict[str, Path]):
        self._documents = {url: json.loads(path.read_text(encoding="utf-8")) for url, path in files.items()}
        self.canonical_forms: LRUCache = LRUCache(maxsize=CANONICAL_FORMS_KEPT)
        self.processed_contexts: LRUCache = LRUCache(maxsize=PROCESSED_CONTEXTS_KEPT)

    def __call__(self, url: str, options: dict | None = None) -> dict:
        """Return the shipped copy of `url`, or raise ContextNotShipped."""
        document = self._documents.get(url)
        if document is None:
            raise ContextNotShipped(f"the JSON-LD context {url!r} is not shipped with this service")
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": copy.deepcopy(document),
            # A shipped context never changes: pyld keeps a remote context resolved across operations only when its
            # loader tags it "static"; untagged, every canonicalisation resolved each context again (~40 % of it).
            "tag": "static",
        }

    def urls(self) -> list[str]:
        """The context URLs this loader knows."""
        return list(self._documents)

    def raw(self, url: str) -> dict:
        """The parsed context document for `url`."""
        return copy.deepcopy(self._documents[url])


def shipped_loader(extra: dict[str, Path] | None = None) -> ShippedContextLoader:
    """The loader for the service's contexts (plus `extra` files, e.g. test-vector contexts)."""
    files = {url: CONTEXTS_DIR / name for url, name in SHIPPED.items()}
    files.update(extra or {})
    return ShippedContextLoader(files)


DEFAULT_LOADER = shipped_loader()
# pyld's resolved-context caches are module-level and not thread-safe.
_PYLD_LOCK = threading.Lock()
# Belt and braces: even a pyld call that forgets its loader must not reach the network.
jsonld.set_document_loader(DEFAULT_LOADER)


class _RememberingProcessor(jsonld.JsonLdProcessor):
    """pyld's processor, remembering each context it processes on top of an active context.

    pyld remembers a processed context by the active context it was applied to, but applies a type-scoped context
    (OB 3.0 has one for each of its types) to a fresh copy of the active context each time, so it processed those
    again at every typed node: half of a credential's canonicalisation. The same local context (by its JSON text) on
    the same active context (pyld's `_uuid` of it) with the same flags gives the same result, and pyld treats a
    processed context as read-only once made (it shares them itself), so the result is kept in the loader's memory.
    Only successes are kept; all of it runs under `_PYLD_LOCK`.

    It is also strict: each expansion refuses a relative IRI (`_check_absolute_iris`), so a document is expanded once,
    inside `normalize`, not once to check it and again to make RDF of it (pyld's `to_rdf` expands whatever it is given,
    an expanded document too, and that second expansion cost more than the first).
    """

    def __init__(self, memory: LRUCache, **kwargs):
        super().__init__(**kwargs)
        self._memory = memory

    def _process_context(
        self,
        active_ctx,
        local_ctx,
        options,
        override_protected=False,
        propagate=True,
        validate_scoped=True,
        cycles=None,
    ):
        flags = (override_protected, propagate, validate_scoped)
        key = None if cycles else self._key(active_ctx, local_ctx, options, flags)
        if key is not None and key in self._memory:
            return self._memory[key]
        processed = super()._process_context(active_ctx, local_ctx, options, *flags, cycles)
        if key is not None:
            self._memory[key] = processed
        return processed

    def expand(self, input_, options):
        expanded = super().expand(input_, options)
        _check_absolute_iris(expanded)
        return expanded

    @staticmethod
    def _key(active_ctx, local_ctx, options, flags: tuple) -> tuple | None:
        if "_uuid" not in active_ctx:
            if not isinstance(active_ctx, dict):
                return None
            active_ctx["_uuid"] = uuid.uuid4().hex  # as pyld names an active context when it first meets it
        try:
            text = json.dumps(local_ctx, separators=(",", ":"))
        except (TypeError, ValueError, RecursionError):
            return None
        return (active_ctx["_uuid"], text, flags, options.get("base"), options.get("processingMode"))


def _refuse_dropped(expanded_property) -> None:
    raise NotStrictJsonLd(f"the property {expanded_property!r} is not defined by the credential's contexts")


def _ints_for_whole_floats(value):
    """JSON numbers like 1.0 as integers, as JavaScript verifiers read them, so both canonicalise alike."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _ints_for_whole_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_ints_for_whole_floats(item) for item in value]
    return value


def same_json(one, other) -> bool:
    """Whether two documents are the same JSON value, which JSON-LD reads alike: key order aside and whole floats as
    integers (as `canonicalize` reads them), but `true` is not `1` (as Python's == would have it)."""
    text = _json_text(_ints_for_whole_floats(one), sort_keys=True)
    return text is not None and text == _json_text(_ints_for_whole_floats(other), sort_keys=True)


def _json_text(document, sort_keys: bool = False) -> str | None:
    try:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False, sort_keys=sort_keys)
    except (TypeError, ValueError, RecursionError):
        return None


def _check_absolute_iris(node) -> None:
    """Relative IRIs vanish from the RDF graph (and so from the signature): refuse them."""
    if isinstance(node, list):
        for item in node:
            _check_absolute_iris(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key not in ("@id", "@type"):
            _check_absolute_iris(value)
            continue
        for iri in value if isinstance(value, list) else [value]:
            if isinstance(iri, str) and not iri.startswith("@") and not _is_absolute(iri):
                raise NotStrictJsonLd(f"{key} {iri!r} is not an absolute IRI")


def _is_absolute(iri: str) -> bool:
    scheme, colon, rest = iri.partition(":")
    return bool(colon) and (scheme == "_" or (scheme[:1].isalpha() and " " not in rest))


def canonicalize(document: dict, loader: ShippedContextLoader | None = None) -> str:
    """RDF Dataset Canonicalization (RDFC-1.0 / URDNA2015) of a JSON-LD document as N-Quads, strictly.

    A document canonicalised before with the same loader (the same JSON text, key order included) is answered from
    the loader's memory; a refused one is worked out again each time.
    """
    loader = loader or DEFAULT_LOADER
    document = _ints_for_whole_floats(document)
    key = text_digest(document)
    with _PYLD_LOCK:
        known = loader.canonical_forms.get(key) if key else None
        if known is not None:
            return known
        processor = _RememberingProcessor(loader.processed_contexts, on_property_dropped=_refuse_dropped)
        # base None keeps relative IRIs relative (pyld would otherwise resolve them against example.org), so we see
        # them.
        options = {"documentLoader": loader, "base": None, "processingMode": "json-ld-1.1"}
        try:
            canonical = processor.normalize(document, {**options, "algorithm": "URDNA2015", "format": NQUADS})
        except jsonld.JsonLdError as exc:
            raise _first_cause(exc) from exc
        if key:
            loader.canonical_forms[key] = canonical
        return canonical


def remembered(document: dict, loader: ShippedContextLoader | None = None) -> str | None:
    """The canonical form `canonicalize` would answer `document` with from the loader's memory, or None."""
    key = text_digest(_ints_for_whole_floats(document))
    with _PYLD_LOCK:
        return (loader or DEFAULT_LOADER).canonical_forms.get(key) if key else None


def _first_cause(error: jsonld.JsonLdError) -> jsonld.JsonLdError:
    """The error pyld met first: `normalize` wraps what its expansion raised twice ("Could not convert input...")."""
    while isinstance(error.__cause__, jsonld.JsonLdError):
        error = error.__cause__
    return error


def text_digest(document) -> str | None:
    """The SHA-256 of the document's JSON text, or None for what JSON cannot hold (then nothing is remembered)."""
    text = _json_text(document)
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()
