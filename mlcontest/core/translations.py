"""The German catalogue: find the strings to translate, keep the .po up to date, compile the .mo.

Run as ``python3.11 tasks.py messages`` (or ``python -m mlcontest.core.translations``). It needs no
GNU gettext (not on a fresh machine): Babel, a development dependency, reads the sources and
writes both files, and the compiled ``django.mo`` is committed beside ``django.po`` so that a
fresh clone serves German without any build step.

What it does, each time:

1. Extracts every marked string: ``gettext``/``gettext_lazy``/``ngettext``/``pgettext``... (or
   ``_``) in ``mlcontest/**/*.py``, and ``{% translate %}``/``{% blocktranslate %}`` in the
   templates (through Django's own ``templatize``, as ``makemessages`` does).
2. Merges them into ``mlcontest/locale/de/LC_MESSAGES/django.po``: a new string is added with an
   empty ``msgstr`` for you to fill in, a string no longer used is dropped, translations are
   kept. The file is sorted and has no source locations, so that branches that add strings in
   parallel rarely touch the same lines (and ``.gitattributes`` merges it as a union).
3. Compiles ``django.mo`` from the translated entries.

``--check`` changes nothing and lists what is wrong (tests/test_i18n.py runs the same checks).
"""

from __future__ import annotations

import argparse
import datetime
import gettext
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent.parent  # mlcontest/
LOCALE_DIR = PACKAGE / "locale"
LANGUAGE = "de"
PO_FILE = LOCALE_DIR / LANGUAGE / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")

# The marking functions, as makemessages passes them to xgettext: whether the first argument is
# a context (pgettext), and how many message arguments follow (two for singular and plural).
KEYWORDS: dict[str, tuple[bool, int]] = {
    "_": (False, 1),
    "gettext": (False, 1),
    "gettext_lazy": (False, 1),
    "gettext_noop": (False, 1),
    "ngettext": (False, 2),
    "ngettext_lazy": (False, 2),
    "pgettext": (True, 1),
    "pgettext_lazy": (True, 1),
    "npgettext": (True, 2),
    "npgettext_lazy": (True, 2),
}

HEADER = "German translation of mlcontest's pages, forms and messages."

FIXED_DATE = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)

Key = tuple[str | tuple[str, ...], str | None]  # (msgid or (singular, plural), context)


def python_sources() -> list[Path]:
    skip = {Path(__file__).resolve()}
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts and path.resolve() not in skip
    )


def template_sources() -> list[Path]:
    return sorted(PACKAGE.glob("**/templates/**/*.html"))


def _extract(source: bytes, origin: str) -> Iterator[tuple[Key, str]]:
    from babel.messages.extract import extract_python

    for _line, funcname, messages, _comments in extract_python(
        io.BytesIO(source), dict.fromkeys(KEYWORDS), [], {"encoding": "utf-8"}
    ):
        has_context, count = KEYWORDS[str(funcname)]
        args: tuple[Any, ...] = messages if isinstance(messages, tuple) else (messages,)
        context = args[0] if has_context else None
        texts = args[int(has_context) : int(has_context) + count]
        literal = [text for text in texts if isinstance(text, str) and text]
        if len(literal) != count or (has_context and not isinstance(context, str)):
            continue  # a variable, not a literal: nothing to translate here
        msgid: str | tuple[str, ...] = literal[0] if count == 1 else (literal[0], literal[1])
        yield (msgid, context), origin


def extract() -> dict[Key, list[str]]:
    """Every marked string of the package, with the files that use it."""
    from django.utils.translation.template import templatize

    found: dict[Key, list[str]] = {}
    for path in python_sources():
        for key, origin in _extract(path.read_bytes(), str(path.relative_to(PACKAGE))):
            found.setdefault(key, []).append(origin)
    for path in template_sources():
        code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        for key, origin in _extract(code.encode("utf-8"), str(path.relative_to(PACKAGE))):
            found.setdefault(key, []).append(origin)
    return found


def read_catalog(text: str | None = None) -> Any:
    from babel.messages.pofile import read_po

    text = PO_FILE.read_text(encoding="utf-8") if text is None else text
    return read_po(io.StringIO(text), locale=LANGUAGE, abort_invalid=True)


def _key(message: Any) -> Key:
    msgid = message.id if isinstance(message.id, str) else tuple(message.id)
    return msgid, message.context


ENTRY_LINE = re.compile(
    r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) ("(?:[^"\\]|\\.)*"(?:\n"(?:[^"\\]|\\.)*")*)',
    re.M,
)


def duplicates(text: str) -> list[str]:
    """What a union merge of two branches can leave in the .po text, and Babel reads without a
    word (keeping one of the two): an entry twice (both branches added it), or an entry with two
    translations (both changed it). The test names them; `tasks.py messages` keeps one."""
    seen: set[tuple[str, str]] = set()
    doubled = []
    context = ""
    key = ("", "")
    keywords: set[str] = set()
    for match in ENTRY_LINE.finditer(text):
        keyword, value = match.groups()
        if keyword == "msgctxt":
            context = value
        elif keyword == "msgid":
            key, context, keywords = (context, value), "", set()
            if value != '""':  # not the header
                if key in seen:
                    doubled.append(value)
                seen.add(key)
        elif keyword in keywords:
            doubled.append(f"{key[1]} ({keyword} twice)")
        else:
            keywords.add(keyword)
    return doubled


def mend(text: str) -> tuple[str, list[str]]:
    """The .po text with an entry that a union merge left twice, word for word, kept once; and
    what only a person can settle: an entry twice with different German, or two translations
    in one entry (say which one stays)."""
    blocks = text.split("\n\n")
    kept: list[str] = []
    first: dict[str, str] = {}
    unsettled: list[str] = []
    for block in blocks:
        if duplicates(block):
            unsettled.append(f"two translations in one entry:\n{block}")
        keys = [m.group(0) for m in ENTRY_LINE.finditer(block) if m.group(1) in MSG_KEYS]
        key = "\n".join(keys)
        if key and key in first:
            if block.strip() != first[key].strip():
                unsettled.append(f"an entry twice with different German:\n{first[key]}\n\n{block}")
            continue  # the same entry again: dropped
        if key:
            first[key] = block
        kept.append(block)
    return "\n\n".join(kept), unsettled


MSG_KEYS = {"msgctxt", "msgid", "msgid_plural"}


def update(found: dict[Key, list[str]]) -> Any:
    """The catalogue with the extracted strings: old translations kept, unused ones dropped."""
    from babel.messages.catalog import Catalog

    old = read_catalog() if PO_FILE.exists() else Catalog(locale=LANGUAGE)
    old_by_key = {_key(message): message for message in old if message.id}
    new = Catalog(
        locale=LANGUAGE,
        domain="django",
        project="mlcontest",
        version="1",
        header_comment=f"# {HEADER}",
        fuzzy=False,
        # Fixed, so that the header does not change with every run (and conflict in merges).
        creation_date=FIXED_DATE,
        revision_date=FIXED_DATE,
        language_team="mlcontest",
        last_translator="mlcontest",
    )
    for key, _origins in sorted(found.items(), key=lambda item: repr(item[0])):
        msgid, context = key
        previous = old_by_key.get(key)
        string: Any = ("", "") if isinstance(msgid, tuple) else ""
        flags: set[str] = set()
        if previous is not None:
            string = previous.string
            flags = set(previous.flags) - {"python-format"}
        new.add(msgid, string, context=context, flags=flags)
    return new


def translated(catalog: Any) -> dict[Any, Any]:
    """What gettext should find in the .mo: the translated, not fuzzy, entries."""
    table: dict[Any, Any] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        prefix = f"{message.context}\x04" if message.context else ""
        if isinstance(message.id, str):
            if message.string:
                table[prefix + message.id] = message.string
        elif all(message.string):
            for index, form in enumerate(message.string):
                table[(prefix + message.id[0], index)] = form
    return table


def compiled_table() -> dict[Any, Any]:
    with MO_FILE.open("rb") as handle:
        translations = gettext.GNUTranslations(handle)
    table = dict(translations._catalog)  # type: ignore[attr-defined]
    table.pop("", None)  # the header
    return table


def untranslated(catalog: Any) -> list[str]:
    return [
        str(message.id)
        for message in catalog
        if message.id
        and (
            message.fuzzy
            or (not message.string if isinstance(message.id, str) else not all(message.string))
        )
    ]


def problems() -> list[str]:
    """What is wrong with the committed catalogue; empty when all is well."""
    found: list[str] = []
    text = PO_FILE.read_text(encoding="utf-8")
    found += [f"django.po has this entry twice: {msgid}" for msgid in duplicates(text)]
    catalog = read_catalog(text)
    in_po = {_key(message) for message in catalog if message.id}
    in_source = extract()
    found += [
        f"not in django.po (run `python3.11 tasks.py messages`): {key[0]!r} from {origins[0]}"
        for key, origins in in_source.items()
        if key not in in_po
    ]
    found += [f"in django.po but no longer used: {key[0]!r}" for key in in_po - set(in_source)]
    found += [f"no German yet: {msgid!r}" for msgid in untranslated(catalog)]
    for message, errors in catalog.check():
        found += [f"{message.id!r}: {error}" for error in errors]
    if not MO_FILE.exists() or compiled_table() != translated(catalog):
        found.append("django.mo is not compiled from django.po: run `python3.11 tasks.py messages`")
    return found


def write(catalog: Any) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import write_po

    PO_FILE.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=True, no_location=True, omit_header=False)
    # Babel's version in the header would change the file with every Babel upgrade.
    text = re.sub(rb'"Generated-By: [^"]*"\n', b"", buffer.getvalue())
    PO_FILE.write_bytes(text)
    # Compile what was just written, so that the .mo is exactly the .po's.
    written = read_catalog()
    mo = io.BytesIO()
    write_mo(mo, written, use_fuzzy=False)
    MO_FILE.write_bytes(mo.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only list what is wrong")
    args = parser.parse_args(argv)
    if args.check:
        listed = problems()
        for line in listed:
            print(line)
        return 1 if listed else 0
    if PO_FILE.exists():
        mended, unsettled = mend(PO_FILE.read_text(encoding="utf-8"))
        if unsettled:
            print(f"{PO_FILE}: a merge left entries only you can settle; keep one of each:")
            for problem in unsettled:
                print(f"\n{problem}")
            return 1
        PO_FILE.write_text(mended, encoding="utf-8")
    catalog = update(extract())
    write(catalog)
    missing = untranslated(catalog)
    where = PO_FILE.relative_to(PACKAGE.parent)
    print(f"{where}: {len(catalog)} strings, {len(missing)} without German.")
    for msgid in missing:
        print(f"  no German yet: {msgid!r}")
    if missing:
        print("Write their German in msgstr, then run this again to compile django.mo.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
