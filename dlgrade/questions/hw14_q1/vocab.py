"""hw14.q1 vocabulary checks: an unknown word is an error that names it (and the spelling to use)."""

from __future__ import annotations

from typing import Sequence

from dlgrade.errors import DlgradeError


class UnknownWordError(DlgradeError):
    """A word is not in the vocabulary of the vectors used."""


def require_words(kv, words: Sequence[str], where: str = "") -> None:
    """Raise :class:`UnknownWordError` naming every word of ``words`` that ``kv`` does not know.

    The message says which vectors were searched and, for a word that is only known in lower case (GloVe 6B is
    lowercased), which spelling to use.

    Args:
        kv: a gensim ``KeyedVectors`` (its ``dlgrade_name``, when set, names the vectors in the message).
        words: the words to look up.
        where: what the words are for (starts the message).

    Example:
        >>> require_words(kv, ["king", "Tehran"])  # doctest: +SKIP
        UnknownWordError: 'Tehran' is not in the vocabulary ...; it is lowercase: use 'tehran' for 'Tehran'
    """
    bad = [w for w in words if not isinstance(w, str)]
    if bad:
        raise UnknownWordError(f"{where or 'words'}: expected words (str), got {', '.join(f'{type(b).__name__} {b!r}' for b in bad)}")
    missing = [w for w in dict.fromkeys(words) if w not in kv.key_to_index]
    if not missing:
        return
    name = getattr(kv, "dlgrade_name", "the word vectors")
    hints = [f"use {w.lower()!r} for {w!r}" for w in missing if w.lower() != w and w.lower() in kv.key_to_index]
    listed = ", ".join(repr(w) for w in missing)
    verb = "is" if len(missing) == 1 else "are"
    raise UnknownWordError(f"{where + ': ' if where else ''}{listed} {verb} not in the vocabulary of {name} "
                           f"({len(kv.key_to_index):,} words)" + (f"; it is lowercase: {'; '.join(hints)}" if hints else ""))
