"""Whether a parsed Telegram update holds the types the Bot API promises.

python-telegram-bot's `Update.de_json` builds objects from whatever JSON it is given: a
chat id may arrive as a list, a name as a number, a required chat as nothing. Such values
break code far from the webhook (PTB's own bookkeeping hashes user ids; the handlers
format names), where the error would become a 5xx and Telegram would deliver the update
again forever. So the webhook checks every attribute of every object in the update
against the type PTB's constructor declares for it, and refuses a mismatch with a 400.
"""

from __future__ import annotations

import collections.abc
import datetime as dtm
import inspect
import math
import types
import typing
from typing import Any

import telegram
from telegram import TelegramObject

INT_RANGE = range(-(2**63), 2**63)
"""Telegram's integers fit in 64 bits (ids in 52)."""


_declared_types: dict[type, tuple[tuple[str, Any, bool], ...]] = {}


def _declared(cls: type[TelegramObject]) -> tuple[tuple[str, Any, bool], ...]:
    """The constructor's parameter types of a PTB class (api_kwargs left out), each with
    whether it may be None, cached."""
    if cls not in _declared_types:
        try:
            hints = typing.get_type_hints(cls.__init__, vars(telegram))
        except (NameError, TypeError):  # classes only the bot sends (InputMedia...)
            hints = {}
        skip = ("api_kwargs", "return")
        _declared_types[cls] = tuple(
            (n, h, _mismatch(None, h, "") is None) for n, h in hints.items() if n not in skip
        )
    return _declared_types[cls]


def type_problem(obj: TelegramObject, where: str = "update") -> str | None:
    """Where `obj` (or an object inside it) holds a value of the wrong type, or None."""
    for name, hint, nullable in _declared(type(obj)):
        value = getattr(obj, name, None)
        if value is None and nullable:
            continue  # most of a message's ~80 attributes: no work, no path string
        problem = _mismatch(value, hint, f"{where}.{name}")
        if problem is not None:
            return problem
    return None


def _mismatch(value: Any, hint: Any, where: str) -> str | None:
    """Why `value` is not of type `hint`, or None (types PTB never receives pass)."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        problems = [_mismatch(value, option, where) for option in typing.get_args(hint)]
        return None if None in problems else problems[0]
    if origin in (collections.abc.Sequence, list, tuple):
        if not isinstance(value, list | tuple):
            return f"{where} is not a list"
        (item_type, *_) = typing.get_args(hint) or (Any,)
        for index, item in enumerate(value):
            problem = _mismatch(item, item_type, f"{where}[{index}]")
            if problem is not None:
                return problem
        return None
    if origin is typing.Literal:
        return None if value in typing.get_args(hint) else f"{where} is not one of its values"
    if hint is type(None):
        return None if value is None else f"{where} is not null"
    if hint is bool:
        return None if isinstance(value, bool) else f"{where} is not a boolean"
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool) and value in INT_RANGE:
            return None
        return f"{where} is not a 64-bit integer"
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return None
        return f"{where} is not a finite number"
    if hint is str:
        return None if isinstance(value, str) else f"{where} is not a string"
    if hint in (dtm.datetime, dtm.timedelta):
        return None if isinstance(value, hint) else f"{where} is not a {hint.__name__}"
    if inspect.isclass(hint) and issubclass(hint, TelegramObject):
        if not isinstance(value, hint):
            return f"{where} is not a {hint.__name__} object"
        return type_problem(value, where)
    return None  # Any, dicts, enums, file inputs: nothing Telegram sends us to check
