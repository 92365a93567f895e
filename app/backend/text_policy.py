"""What text the service accepts: everything JSON can carry that UTF-8 and PostgreSQL can store.

Refused at the edge with a 422 that names the field, the character and its position; never
altered (the stored text is always exactly what the model scored):

- U+0000 (NUL): valid Unicode and valid UTF-8, but PostgreSQL's ``text`` cannot hold it;
- U+D800..U+DFFF (surrogates): a JSON escape such as ``"\\ud800"`` decodes to one, but a lone
  surrogate is not a Unicode scalar value and no UTF-8 encoder accepts it.

Bodies that are not UTF-8 at all are refused before parsing (``middleware.py``). Everything else
(other control characters, noncharacters, private use, every astral plane) is stored as sent.
"""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_reason(value: str) -> str | None:
    """Why ``value`` cannot be stored, naming the first offending character; None when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    character, position = found.group(), found.start()
    if character == "\x00":
        return f"contains U+0000 (NUL) at character {position}, which PostgreSQL cannot store"
    return (
        f"contains the lone surrogate U+{ord(character):04X} at character {position}: not valid "
        "Unicode (a JSON escape of half a UTF-16 pair), so it cannot be encoded as UTF-8"
    )


def printable(value: Any) -> Any:  # noqa: ANN401 - any JSON value
    """``value`` with every string made UTF-8-encodable (lone surrogates become ``\\udXXX``).

    Error responses echo field names and inputs; without this, echoing a lone surrogate would
    make the error response itself fail to encode.
    """
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {printable(key): printable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [printable(item) for item in value]
    return value
