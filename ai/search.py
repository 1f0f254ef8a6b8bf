"""Full-text retrieval over knowledge items: the one module that knows each database's engine.

Why dialect-specific code: the issue asks for ranked full-text retrieval, not substring matching,
and Django has it for PostgreSQL only (``django.contrib.postgres.search``); SQLite's FTS5 needs its
own virtual table, triggers and ``MATCH`` query, which no ORM expression writes. Everything
vendor-specific is fenced here behind ``install`` (called by the migration) and ``search``.

Both engines index ``KnowledgeItem.search_text``, which ``normalize`` has case-folded and
stripped of accents in Python, so "Promoção" and "promocao" are the same word on both without
PostgreSQL's ``unaccent`` extension. Queries are normalized the same way, stop words dropped,
and the remaining words OR-ed (a customer's question rarely contains every word of the answer):
- PostgreSQL: ``to_tsvector('portuguese', ...)`` under a GIN index, ranked by ``ts_rank_cd``.
- SQLite: an FTS5 table (``unicode61`` tokenizer) kept in step with the items by triggers,
  ranked by ``bm25``.
On both, each query word is cut to a light stem and matched as a prefix ("promoções" →
``promoc*``): FTS5 has no Portuguese stemmer, and PostgreSQL's stems the unaccented plural
"promocoes" and singular "promocao" differently.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import TYPE_CHECKING, Any

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import F

if TYPE_CHECKING:
    from ai.models import KnowledgeItem

STOP_WORDS = frozenset(
    [
        "a",
        "ao",
        "aos",
        "as",
        "com",
        "da",
        "das",
        "de",
        "do",
        "dos",
        "e",
        "em",
        "é",
        "na",
        "nas",
        "no",
        "nos",
        "o",
        "os",
        "ou",
        "para",
        "pela",
        "pelo",
        "por",
        "que",
        "se",
        "sem",
        "um",
        "uma",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "is",
        "it",
        "i",
        "eu",
        "voce",
        "vc",
        "me",
        "te",
        "meu",
        "minha",
        "tem",
        "ter",
        "qual",
        "quais",
        "como",
        "quando",
        "onde",
    ]
)
MAX_TERMS = 24
_SUFFIXES = ("coes", "cao", "oes", "aes", "ao", "es", "s", "a", "o", "e")

_SQLITE_INSTALL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS ai_knowledge_fts USING fts5("
    " search_text, item_id UNINDEXED, tokenize = 'unicode61 remove_diacritics 2')",
    "INSERT INTO ai_knowledge_fts (search_text, item_id) SELECT search_text, id FROM ai_knowledgeitem",
    "CREATE TRIGGER IF NOT EXISTS ai_knowledge_fts_insert AFTER INSERT ON ai_knowledgeitem BEGIN"
    " INSERT INTO ai_knowledge_fts (search_text, item_id) VALUES (new.search_text, new.id); END",
    "CREATE TRIGGER IF NOT EXISTS ai_knowledge_fts_delete AFTER DELETE ON ai_knowledgeitem BEGIN"
    " DELETE FROM ai_knowledge_fts WHERE item_id = old.id; END",
    "CREATE TRIGGER IF NOT EXISTS ai_knowledge_fts_update AFTER UPDATE OF search_text ON ai_knowledgeitem BEGIN"
    " DELETE FROM ai_knowledge_fts WHERE item_id = old.id;"
    " INSERT INTO ai_knowledge_fts (search_text, item_id) VALUES (new.search_text, new.id); END",
]
_SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS ai_knowledge_fts_insert",
    "DROP TRIGGER IF EXISTS ai_knowledge_fts_delete",
    "DROP TRIGGER IF EXISTS ai_knowledge_fts_update",
    "DROP TABLE IF EXISTS ai_knowledge_fts",
]
# The expression SearchVector below compiles to, so the planner uses the index.
_POSTGRES_INSTALL = [
    "CREATE INDEX IF NOT EXISTS ai_knowledge_fts ON ai_knowledgeitem"
    " USING gin (to_tsvector('portuguese'::regconfig, COALESCE(search_text, '')))"
]
_POSTGRES_UNINSTALL = ["DROP INDEX IF EXISTS ai_knowledge_fts"]


def normalize(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def query_terms(text: str) -> list[str]:
    seen: list[str] = []
    for word in re.findall(r"\w+", normalize(text)):
        if len(word) > 1 and word not in STOP_WORDS and word not in seen:
            seen.append(word)
    return seen[:MAX_TERMS]


def install(schema_editor: Any) -> None:
    for statement in _statements(schema_editor.connection.vendor, install=True):
        schema_editor.execute(statement)


def uninstall(schema_editor: Any) -> None:
    for statement in _statements(schema_editor.connection.vendor, install=False):
        schema_editor.execute(statement)


def _statements(vendor: str, *, install: bool) -> list[str]:
    if vendor == "sqlite":
        return _SQLITE_INSTALL if install else _SQLITE_UNINSTALL
    if vendor == "postgresql":
        return _POSTGRES_INSTALL if install else _POSTGRES_UNINSTALL
    return []


def search(
    *, workspace_id: uuid.UUID, text: str, limit: int, ids_only: bool = False
) -> list[tuple[KnowledgeItem, float]]:
    """The enabled items of the workspace that best match ``text``, with their scores, best
    first; scores are positive, larger is better. One query: the items come with their rank
    (``ids_only``: only their ids loaded, for a caller that filters by them)."""
    from ai.models import KnowledgeItem

    terms = query_terms(text)
    if not terms:
        return []
    if connection.vendor == "postgresql":
        query = SearchQuery(" | ".join(f"{_stem(term)}:*" for term in terms), search_type="raw", config="portuguese")
        vector = SearchVector("search_text", config="portuguese")  # compiles to the indexed expression
        items = (
            KnowledgeItem.objects.filter(workspace_id=workspace_id, enabled=True)
            .alias(vector=vector)
            .filter(vector=query)  # the @@ the GIN index answers
            .annotate(score=SearchRank(F("vector"), query, cover_density=True))
            .order_by("-score", "id")[:limit]
        )
        if ids_only:
            items = items.only("id")
    else:
        match = " OR ".join(f'"{_stem(term)}"*' for term in terms)
        items = KnowledgeItem.objects.raw(
            f"SELECT {'i.id' if ids_only else 'i.*'}, -bm25(ai_knowledge_fts) AS score FROM ai_knowledge_fts f"
            " JOIN ai_knowledgeitem i ON i.id = f.item_id"
            " WHERE ai_knowledge_fts MATCH %s AND i.workspace_id = %s AND i.enabled"
            " ORDER BY score DESC, f.item_id LIMIT %s",
            [match, workspace_id.hex, limit],
        )
    return [(item, float(item.score)) for item in items]


def _stem(term: str) -> str:
    if term.isdigit():
        return term
    for suffix in _SUFFIXES:
        if term.endswith(suffix) and len(term) - len(suffix) >= 4:
            return term[: -len(suffix)]
    return term
