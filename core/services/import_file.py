"""Reading a spreadsheet export as people really send it: the encoding, the delimiter and
the headers of Google Forms, Microsoft Forms, Excel or the bot's own form labels.

Pure functions on bytes and strings; ``core/services/importing.py`` turns the rows into
learners.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field

from core import catalogue

DELIMITERS = ",;\t|"
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\u00a0"), " ")


@dataclass(frozen=True)
class Table:
    """A decoded file: its header, its records (row number, cells) and how it was read.
    ``unreadable`` holds records the CSV reader could not split (row number, why)."""

    headers: list[str]
    records: list[tuple[int, list[str]]]
    encoding: str
    delimiter: str
    unreadable: list[tuple[int, str]] = field(default_factory=list)

    @property
    def delimiter_name(self) -> str:
        return _NAMES.get(self.delimiter, repr(self.delimiter))


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name). A BOM decides (UTF-8, UTF-16 LE/BE); else UTF-16 without BOM
    when every other byte is NUL; else UTF-8 if it is valid; else cp1252 (Excel's "CSV" on
    Windows), with Latin-1 for the five bytes cp1252 leaves undefined."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "UTF-8 with BOM"
    for bom, name in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(name, errors="replace"), f"{name.upper()} with BOM"
    head = data[:4000]
    if len(head) >= 4 and head.count(0) * 3 > len(head):  # ASCII text stored as UTF-16
        name = "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
        return data.decode(name, errors="replace"), name.upper()
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1"


def sniff_delimiter(text: str) -> str:
    """The delimiter: csv.Sniffer on a sample of whole lines, checked against the header;
    when the sniffer gives up or disagrees badly, the candidate splitting the header into
    the most columns."""
    first = text.split("\n", 1)[0]

    def columns(d: str) -> int:
        return len(next(csv.reader([first], delimiter=d), []))

    sample = text[:65536]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    best = max(DELIMITERS, key=columns)  # ties: the order of DELIMITERS (comma first)
    if sniffed and sniffed in DELIMITERS and columns(sniffed) > 1:
        return sniffed
    return best


def read_table(data: bytes) -> Table:
    """Decode, sniff and split a file. Blank lines are dropped; row numbers are those a
    spreadsheet shows (the header is row 1)."""
    text, encoding = decode(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    headers: list[str] | None = None
    records: list[tuple[int, list[str]]] = []
    unreadable: list[tuple[int, str]] = []
    number = 0
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a field over the size limit: this row only
            unreadable.append((number, f"unreadable ({exc})"))
            continue
        if headers is None:
            headers = [clean_header(c) for c in cells]
            continue
        if any(c.strip() for c in cells):
            records.append((number, cells))
        else:
            number -= 1  # a blank line is no row in a spreadsheet
    return Table(headers or [], records, encoding, delimiter, unreadable)


def clean_header(text: str) -> str:
    return " ".join(text.translate(_INVISIBLE).split())


def _norm(header: str) -> str:
    low = clean_header(header).casefold().replace("_", " ").replace("-", " ")
    return " ".join(low.strip(" ?:*.").split())


# ---- headers --------------------------------------------------------------------------
# The bot's own form labels, exactly: "When are you free each week?" -> availability, ...
_LABELS: dict[str, str] = {
    _norm(f.label): f.name
    for form in catalogue.FORMS.values() if form.name.startswith("join-") for f in form.fields
}
_LABELS[_norm(catalogue.MODE.label)] = "mode"
# Whole headers of common exports (Google Forms, Microsoft Forms, Typeform, Excel).
_EXACT: dict[str, str] = {
    "timestamp": "timestamp", "submitted at": "timestamp", "submission time": "timestamp",
    "completion time": "timestamp", "start time": "timestamp", "date submitted": "timestamp",
    "horodateur": "timestamp", "marca temporal": "timestamp", "zeitstempel": "timestamp",
    "email address": "email", "email": "email", "e mail": "email", "e mail address": "email",
    "respondent email": "email", "adresse e mail": "email",
    "name": "name", "full name": "name", "display name": "name", "your name": "name",
    "first and last name": "name", "nickname": "name",
    "user id": "user_id", "userid": "user_id", "user": "user_id", "member id": "user_id",
    "platform id": "user_id", "platform user id": "user_id",
    "username": "handle", "user name": "handle", "handle": "handle",
    "time zone": "timezone", "timezone": "timezone", "tz": "timezone",
}
# Words inside a whole question, first rule wins ("How many learners can you support at
# once?" is a capacity, not a kind of support).
_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("timestamp", "submitted"), "timestamp"),
    (("how many", "capacity", "at once"), "capacity"),
    (("anonym",), "anonymous"),
    (("group size", "size of group", "size of the group"), "group_size"),
    (("time zone", "timezone"), "timezone"),
    (("availability", "available", "free each week", "when are you free", "when can you"),
     "availability"),
    (("language",), "languages"),
    (("topic", "module", "subject", "course"), "topic"),
    (("looking for", "mode", "connection", "kind of partner", "type of match"), "mode"),
    (("cohort", "intake"), "cohort"),
    (("country", "where are you based", "location"), "country"),
    (("setup", "format", "prefer to meet"), "setup"),
    (("support",), "support_kind"),
    (("goal", "hope to achieve", "objective"), "goal"),
    (("phone", "whatsapp", "mobile", "contact"), "contact"),
    (("email", "e mail"), "email"),
    (("username", "user name", "handle"), "handle"),
    (("name",), "name"),
)
_PLATFORMS = ("discord", "slack")
# How a field is named in the dry-run and the report.
FIELD_NAMES = {"user_id": "user id", "name": "display name", "timestamp": "joined at",
               "timezone": "time zone", "support_kind": "kind of support",
               "group_size": "group size", "contact": "contact (shared with the match)"}


def classify(header: str) -> tuple[str, int]:
    """(field, strength) of one header; ("", 0) when not understood. Strength orders
    headers that give the same field: the bot's own labels and exact export headers beat
    words inside a question; for the user id, this platform's id column beats a generic
    one, which beats another platform's, a username and, last, an email address."""
    low = _norm(header)
    if not low:
        return "", 0
    words = low.split()
    for platform in _PLATFORMS:
        if platform in words and ({"id", "user", "member"} & set(words)):
            return f"user_id:{platform}", 80
    if low in _LABELS:
        return _LABELS[low], 100
    if low in _EXACT:
        return _EXACT[low], 90
    for keys, name in _WORDS:
        if any(k in low for k in keys):
            return name, 50
    return "", 0


@dataclass(frozen=True)
class Column:
    index: int
    header: str
    field: str  # "" when ignored
    note: str = ""


@dataclass(frozen=True)
class HeaderMapping:
    """Which column gives which field, and why the others are ignored."""

    fields: dict[str, int]
    columns: list[Column]
    problem: str = ""  # the file cannot be imported (no user id, no mode): why
    warnings: tuple[str, ...] = ()

    def describe(self) -> list[str]:
        """One line per header, e.g. '"Discord ID" -> user id'."""
        lines = []
        for c in self.columns:
            shown = f'"{c.header}"' if c.header else f"(column {c.index + 1} has no header)"
            target = FIELD_NAMES.get(c.field, c.field) if c.field else "ignored"
            lines.append(f"{shown} -> {target}" + (f" ({c.note})" if c.note else ""))
        return lines


def _user_id_rank(kind: str, platform: str) -> int:
    if kind.startswith("user_id:"):
        return 100 if kind.endswith(platform) else 40
    return {"user_id": 90, "handle": 30, "email": 20}.get(kind, 0)


def map_headers(headers: list[str], platform: str) -> HeaderMapping:
    """Map headers to fields for a community on ``platform``."""
    kinds = [classify(h) for h in headers]
    best: dict[str, tuple[int, int]] = {}  # field -> (strength, index)
    for index, (kind, strength) in enumerate(kinds):
        id_rank = _user_id_rank(kind, platform)
        target, rank = ("user_id", id_rank) if id_rank else (kind, strength)
        if target and (target not in best or rank > best[target][0]):
            best[target] = (rank, index)  # ties: the first column wins
    fields = {name: index for name, (_, index) in best.items()}
    problem, warnings = _check(fields, headers, platform)
    columns = []
    for index, header in enumerate(headers):
        kind = kinds[index][0]
        names = [n for n, i in fields.items() if i == index]
        name = "name" if "name" in names else names[0] if names else ""
        note = ""
        if name == "name" and "user_id" in names:
            note = "also used as the user id"
        elif not name and kind:
            winner = "user_id" if _user_id_rank(kind, platform) else kind
            note = f'"{headers[fields[winner]]}" gives the {FIELD_NAMES.get(winner, winner)}'
        elif not name:
            note = "not understood"
        columns.append(Column(index, header, name, note))
    return HeaderMapping(fields, columns, problem, warnings)


def _check(fields: dict[str, int], headers: list[str],
           platform: str) -> tuple[str, tuple[str, ...]]:
    """(problem, warnings) of a mapping; without an id column the name is the user id
    (what the console uses), added to ``fields``."""
    warnings: list[str] = []
    if "user_id" not in fields and "name" in fields:
        if platform in _PLATFORMS:
            warnings.append(f"No {platform.capitalize()} id column: names are used as user "
                            "ids, so these learners are not linked to their accounts.")
        fields["user_id"] = fields["name"]
    elif "user_id" in fields and platform in _PLATFORMS:
        kind = classify(headers[fields["user_id"]])[0]
        if kind in ("email", "handle") or (kind.startswith("user_id:")
                                           and not kind.endswith(platform)):
            warnings.append(f'"{headers[fields["user_id"]]}" is used as the user id: these '
                            f"learners are linked to their {platform.capitalize()} accounts "
                            "only if it holds their platform ids.")
    missing = []
    if "user_id" not in fields:
        missing.append('a user id (e.g. "Discord ID", "Slack ID", "User ID") or a name')
    if "mode" not in fields:
        missing.append(f'what each person is looking for (e.g. "{catalogue.MODE.label}")')
    if not missing:
        return "", tuple(warnings)
    understood = [f'"{h}"' for i, h in enumerate(headers) if i in fields.values()]
    ignored = [f'"{h}"' for i, h in enumerate(headers) if h and i not in fields.values()]
    return ("No column gives " + " or ".join(missing) + ". Understood: "
            + (", ".join(understood) or "none") + "; not understood: "
            + (", ".join(ignored) or "none") + "."), tuple(warnings)
