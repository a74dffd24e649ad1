"""Small helpers for the sentences reports and models write: counts with the right noun, lists in words, and
text from a log made safe to put into Markdown."""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character: CommonMark escapes them all
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
SHORT = 80  # characters of a value shown in a message


def plural(n: int, word: str, plural_form: str | None = None, *, verb: tuple[str, str] | None = None) -> str:
    """``n`` and ``word``, in the plural unless ``n`` is 1; ``plural_form`` for irregular words.

    A consonant before a final ``y`` makes ``-ies``; every other word takes ``-s``. ``verb`` is a verb's singular
    and plural form, put after the noun in the form that agrees with ``n``.

    Examples
    --------
    >>> plural(1, "owner"), plural(3, "owner"), plural(13, "activity"), plural(2, "day"), plural(1200, "deal")
    ('1 owner', '3 owners', '13 activities', '2 days', '1,200 deals')
    >>> plural(1, "deal", verb=("has", "have")), plural(2, "deal", verb=("has", "have"))
    ('1 deal has', '2 deals have')
    """
    if plural_form is None:
        consonant_y = word.endswith("y") and word[-2:-1] not in "aeiou"
        plural_form = word[:-1] + "ies" if consonant_y else word + "s"
    text = f"{n:,} {word if n == 1 else plural_form}"
    return text if verb is None else f"{text} {agree(n, *verb)}"


def agree(n: int, one: str, many: str) -> str:
    """``one`` when ``n`` is 1, else ``many``: the word that agrees with a count ("1 row was", "2 rows were").

    >>> agree(1, "was", "were"), agree(0, "was", "were")
    ('was', 'were')
    """
    return one if n == 1 else many


def join_words(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``.

    >>> join_words(["calls"]), join_words(["calls", "emails", "meetings"])
    ('calls', 'calls, emails and meetings')
    """
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def escape_markdown(text) -> str:
    r"""``text`` as Markdown that shows exactly these characters: no markup, no HTML, no link, no math.

    Names in a log (owners, teams, stages, deal ids) can hold anything, ``<img onerror=...>`` or
    ``[x](javascript:...)`` included; a report puts them into Markdown only through this function. Every ASCII
    punctuation character is backslash-escaped (so ``<`` is text, ``$`` starts no formula in Jupyter), and line
    breaks become spaces and the ends are stripped (a name cannot start a heading, a code block or a paragraph).

    Examples
    --------
    >>> print(escape_markdown("<b>Ann</b> [x](javascript:alert(1))"))
    \<b\>Ann\<\/b\> \[x\]\(javascript\:alert\(1\)\)
    >>> print(escape_markdown("line\n# one"))
    line \# one
    """
    return _PUNCTUATION.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(text)).strip())


def shorten(text: str, width: int = SHORT) -> str:
    """``text`` cut to about ``width`` characters, saying how long it was, so a 1 MB cell never fills a message.

    >>> shorten("Lead"), shorten("x" * 1000, 20)
    ('Lead', 'xxxxxxxxxxxxxxxxxxxx... (1,000 characters)')
    """
    text = str(text)
    return text if len(text) <= width else f"{text[:width]}... ({len(text):,} characters)"


def listed(names, most: int = 20) -> str:
    """The first ``most`` names, each cut by :func:`shorten`, and how many more: for "Columns found: ..." lists.

    >>> listed(["a", "b"]), listed([f"c{i}" for i in range(30)], 3), listed([])
    ('a, b', 'c0, c1, c2 and 27 more', 'none')
    """
    names = [shorten(n) for n in names]
    if not names:
        return "none"
    more = f" and {len(names) - most:,} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more
