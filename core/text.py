"""Text hygiene: invisible and direction-changing characters out of what people type.

Two uses, two strengths:

* ``clean_display`` for names and free text that other people will see: bidi overrides,
  embeddings, isolates and marks, zero-width characters and control characters are removed,
  so a name cannot make a match message display reversed or hide text. Joiners that carry
  meaning stay: ZWJ inside emoji sequences (👩‍💻) and ZWJ/ZWNJ between letters of scripts
  that need them (Persian, Indic).
* ``clean_input`` for text the bot parses (availability, time zones): everything invisible
  goes, NFKC folds look-alikes (full-width digits, no-break spaces) to plain characters,
  so the culprit of a parse error is always a character the learner can see.
"""

from __future__ import annotations

import re
import unicodedata

ZWNJ, ZWJ = "\u200c", "\u200d"
_TAG_FLAG = "\U0001f3f4"  # waving black flag: starts the tag sequences of 🏴󠁧󠁢󠁥󠁮󠁧󠁿 and friends
_TAGS = range(0xE0020, 0xE0080)
_KEEP_CONTROLS = {"\n", "\t"}
_ASCII_BREAKS = str.maketrans(dict.fromkeys("\r\v\f", "\n"))
_ASCII_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")  # \t \n \v \f \r are spacing
_DISPLAY_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # all but \t and \n
# Invisible characters that are not in category Cf (format) but still render as nothing.
_INVISIBLE_EXTRA = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u034f"}


def _is_emoji(ch: str) -> bool:
    # "So" covers the pictographs; skin-tone modifiers are "Sk"; FE0F asks for emoji style.
    return (unicodedata.category(ch) == "So" or 0x1F3FB <= ord(ch) <= 0x1F3FF
            or ch == "\ufe0f")


def _is_joining_letter(ch: str) -> bool:
    # Only non-ASCII letters and marks: ZWJ/ZWNJ change shaping in Arabic-script and Indic
    # text, while between Latin letters they do nothing visible and only hide things.
    return ord(ch) > 0x7F and unicodedata.category(ch)[0] in "LM"


def _keep_joiner(ch: str, before: str, after: str) -> bool:
    if not before or not after:
        return False
    if ch == ZWJ and _is_emoji(before) and _is_emoji(after):
        return True
    return _is_joining_letter(before) and _is_joining_letter(after)


def clean_display(text: str) -> str:
    """``text`` without bidi controls, zero-width or control characters (newline and tab
    stay), keeping joiners inside emoji sequences and between letters that need them."""
    if text.isascii() and not _DISPLAY_CONTROLS.search(text):
        # The usual case, and hot (an import cleans every cell of 100,000 rows): ASCII
        # without controls (newline and tab aside) has nothing to remove.
        return text
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch in _KEEP_CONTROLS:
            out.append(ch)
            continue
        category = unicodedata.category(ch)
        if ch in (ZWJ, ZWNJ):
            before = out[-1] if out else ""
            after = text[i + 1] if i + 1 < len(text) else ""
            if _keep_joiner(ch, before, after):
                out.append(ch)
            continue
        if ord(ch) in _TAGS:
            # A tag survives only inside a flag sequence (🏴 followed by tags).
            if out and (out[-1] == _TAG_FLAG or ord(out[-1]) in _TAGS):
                out.append(ch)
            continue
        if category in ("Cf", "Cc") or ch in _INVISIBLE_EXTRA:
            continue
        out.append(ch)
    return "".join(out)


def clean_input(text: str) -> str:
    """Text to parse: NFKC-folded, every invisible character removed, every kind of space
    (no-break, thin, ideographic...) made a plain space and runs of spaces collapsed; line
    breaks (any kind) stay, as one newline, because they can separate items."""
    if text.isascii():  # the usual case: only ASCII controls can hide in it
        flat = _ASCII_CONTROLS.sub("", text.replace("\r\n", "\n").translate(_ASCII_BREAKS))
        ascii_lines = (" ".join(line.split()) for line in flat.split("\n"))
        return "\n".join(line for line in ascii_lines if line)
    folded = unicodedata.normalize("NFKC", text)
    kept = []
    for ch in folded:
        category = unicodedata.category(ch)
        if ch in "\n\r\v\f" or category in ("Zl", "Zp"):
            kept.append("\n")
        elif category == "Zs" or ch == "\t":
            kept.append(" ")
        elif category in ("Cf", "Cc") or ch in _INVISIBLE_EXTRA:
            continue
        else:
            kept.append(ch)
    lines = (" ".join(line.split()) for line in "".join(kept).split("\n"))
    return "\n".join(line for line in lines if line)


# ---- wording: the one place plurals, articles and lists are made --------------------------

_IRREGULAR = {"match": "matches", "person": "people", "session": "sessions", "is": "are",
              "has": "have", "was": "were"}


def plural(count: int, word: str, many: str = "") -> str:
    """``plural(1, "match")`` -> '1 match'; ``plural(2, "match")`` -> '2 matches'.

    ``many`` spells an irregular plural; without it a few known words and the usual
    English endings are used (box -> boxes, city -> cities, minute -> minutes)."""
    return f"{count} {word if count == 1 else many or plural_of(word)}"


def plural_of(word: str) -> str:
    """The plural of one English word (the few the bot says, and the usual endings)."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def with_article(phrase: str) -> str:
    """'a study buddy', 'an accountability partner' (by the first letter's sound, which is
    right for every mode and topic word the bot uses; 'an hour' is the known exception)."""
    first = phrase.strip()[:1].casefold()
    vowel = first in "aeio" or phrase.casefold().startswith(("hour", "honest"))
    return f"{'an' if vowel and first else 'a'} {phrase}"


def join_words(items: list[str] | tuple[str, ...], conjunction: str = "and") -> str:
    """['A'] -> 'A'; ['A', 'B'] -> 'A and B'; ['A', 'B', 'C'] -> 'A, B and C'.
    ``conjunction='or'`` when any one will do ("speaks English or Swahili")."""
    words = [w for w in items if w]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def relative_time(seconds: float) -> str:
    """How far an instant is, in words: 'in a moment', 'in 1 minute', 'in 3 hours',
    '2 days ago'. Under a minute is 'a moment' (never 'in 0 minutes')."""
    ahead = seconds >= 0
    minutes = abs(seconds) / 60
    if minutes < 1:
        return "in a moment" if ahead else "a moment ago"
    if minutes < 90:
        amount = plural(round(minutes), "minute")
    elif minutes < 48 * 60:
        amount = plural(round(minutes / 60), "hour")
    else:
        amount = plural(round(minutes / 1440), "day")
    return f"in {amount}" if ahead else f"{amount} ago"
