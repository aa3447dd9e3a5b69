"""The translation catalogs (locale/): complete, compiled, and current with the code.

es and pt_BR translate every string of our own code; es_AR holds only the strings whose wording
differs (voseo), and falls back to es for the rest (tests/test_language.py).
"""

import gettext
import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_python
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils.translation.template import templatize

LOCALE = Path(settings.BASE_DIR) / "locale"
FULL_CATALOGS = ["es", "pt_BR"]
CATALOGS = [*FULL_CATALOGS, "es_AR"]
# What `makemessages` leaves out (docs/accounts.md): the sandbox stands in for Mercado Pago and
# stays in English; tests, benchmarks and deployment files show nothing to people.
NOT_TRANSLATED = {"tests", "sandbox", "bench", "docs", "deploy", "locale", "staticfiles"}
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext_lazy": (1, 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
TEMPLATE_MARKS = re.compile(r"trans|\b_\(")
MARKED = {".py": re.compile(r"gettext"), ".html": TEMPLATE_MARKS, ".txt": TEMPLATE_MARKS}
"""What a file that marks a string for translation contains: gettext's import, a tag or _()."""
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")


def catalog(language: str) -> Catalog:
    with open(LOCALE / language / "LC_MESSAGES" / "django.po", "rb") as po:
        return read_po(po)


def messages(language: str) -> dict:
    """The catalog's entries (not the header), by context and msgid."""
    return {(m.context, m.id): m for m in catalog(language) if m.id}


def forms(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def msgids_in_code() -> set:
    """The msgids makemessages extracts from our code: Python files, and templates turned into
    Python by Django's own ``templatize``, read by Babel's extractor (no gettext binary)."""
    found = set()
    for path in _translatable_files():
        source = path.read_text()
        if not MARKED[path.suffix].search(source):
            continue  # tokenizing every file would take seconds
        if path.suffix != ".py":  # a template (makemessages reads .html and .txt ones)
            code = templatize(source, origin=str(path))
            source = "\n".join(line.lstrip() for line in code.splitlines())  # no indentation
        extracted = extract_python(io.BytesIO(source.encode()), KEYWORDS, [], {})
        for _line, function, message, _comments in extracted:
            if message is not None:  # _(A_CONSTANT): its gettext_noop is what makemessages reads
                found.add(_key(function, message))
    return found


def _translatable_files() -> list[Path]:
    base = Path(settings.BASE_DIR)
    files = list(base.glob("*.py"))
    for top in base.iterdir():
        if top.is_dir() and top.name not in NOT_TRANSLATED and not top.name.startswith("."):
            files += [path for path in top.rglob("*") if path.suffix in MARKED]
    return files


def _key(function: str, message: str | tuple) -> tuple:
    if function.startswith("npgettext"):
        return message[0], message[1:3]
    if function.startswith("pgettext"):
        return message
    if function.startswith("ngettext"):
        return None, message[:2]
    return None, message


def test_the_catalogs_hold_exactly_the_strings_of_the_code():
    """Fails when a string was marked or changed without running makemessages (docs)."""
    in_code, in_catalog = msgids_in_code(), set(messages("es"))

    assert sorted(in_code - in_catalog, key=str) == [], "run makemessages and translate"
    assert sorted(in_catalog - in_code, key=str) == [], "run makemessages (they are stale)"
    for language in FULL_CATALOGS[1:]:
        assert set(messages(language)) == in_catalog, language


@pytest.mark.parametrize("language", CATALOGS)
def test_every_string_is_translated_and_none_is_fuzzy(language):
    entries = messages(language).values()

    assert [m.id for m in entries if not all(forms(m))] == []
    assert [m.id for m in entries if m.fuzzy] == []
    assert list(catalog(language).obsolete) == []


@pytest.mark.parametrize("language", CATALOGS)
def test_translations_keep_the_placeholders(language):
    for message in messages(language).values():
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for index, text in enumerate(forms(message)):
            msgid = ids[min(index, len(ids) - 1)]
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(msgid)), text


def test_argentine_spanish_holds_only_what_it_words_differently():
    neutral, argentine = messages("es"), messages("es_AR")

    assert set(argentine) <= set(neutral), "stale es_AR strings"
    same = [key for key, m in argentine.items() if forms(m) == forms(neutral[key])]
    assert same == [], "worded as in es: leave them to the fallback"


@pytest.mark.parametrize("language", CATALOGS)
def test_the_compiled_catalogs_match_their_sources(language):
    """The .mo files are committed (the quick start needs no gettext): compilemessages ran."""
    with open(LOCALE / language / "LC_MESSAGES" / "django.mo", "rb") as mo:
        compiled = gettext.GNUTranslations(mo)._catalog
    expected = {}
    for (context, msgid), message in messages(language).items():
        if message.fuzzy or not all(forms(message)):
            continue  # msgfmt leaves them out; the test above fails for them
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        key = f"{context}\x04{ids[0]}" if context else ids[0]
        if len(ids) == 1:
            expected[key] = message.string
        else:
            expected.update({(key, n): text for n, text in enumerate(message.string)})

    assert {key: text for key, text in compiled.items() if key != ""} == expected


def test_neutral_spanish_never_uses_the_argentine_wording():
    """The words es_AR puts in place of es's ("Escaneá" for "Escanea") appear nowhere in es."""
    neutral, argentine = messages("es"), messages("es_AR")
    words = re.compile(r"\w+")
    voseo = set()
    for key, message in argentine.items():
        for text, neutral_text in zip(forms(message), forms(neutral[key]), strict=True):
            voseo |= set(words.findall(text)) - set(words.findall(neutral_text))
    neutral_words = {
        word for m in neutral.values() for text in forms(m) for word in words.findall(text)
    }

    assert voseo  # the overrides do differ
    assert sorted(voseo & neutral_words) == []
