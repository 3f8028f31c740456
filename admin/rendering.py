"""Rendering admin pages: one Jinja2 environment (autoescaped), the language, the layout's
context (signed-in user, nav, language links) and the language cookie.

Every page calls `render(request, "page.html", {...})`; templates extend `base.html` and get
`t` (the texts of the page's language), `lang`, `principal`, `role_name`, `lang_url` and the
global `csrf_token(request)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from admin import i18n
from admin.access import csrf_token, session_of

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
TEMPLATES.env.globals["csrf_token"] = csrf_token
STATIC = Path(__file__).with_name("static")
STATIC_PATH = "/admin/static"
"""Where cxbot serves `admin/static/` (CSS, icons, vendored scripts)."""


def language_of(request: Request) -> i18n.Language:
    """The request's language (query, cookie, Accept-Language; see admin.i18n)."""
    return i18n.pick_language(
        request.query_params.get("lang"),
        request.cookies.get(i18n.COOKIE),
        request.headers.get("accept-language"),
    )


def lang_url(request: Request, language: str) -> str:
    """This page's URL (path and query) in another language."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    query.append(("lang", language))
    return f"{request.url.path}?{urlencode(query)}"


def page_context(request: Request) -> dict[str, Any]:
    """What the layout needs: the language, its texts, the signed-in principal."""
    language = language_of(request)
    t = i18n.translator(language)
    names = i18n.role_names(language)
    context: dict[str, Any] = {
        "lang": language,
        "t": t,
        "languages": i18n.LANGUAGE_NAMES,
        "lang_url": lambda other: lang_url(request, other),
        "principal": getattr(request.state, "principal", None),
        "role_name": lambda role: names.get(role, role),
        "static": STATIC_PATH,
    }
    session = session_of(request)
    shown = None if session is None else session.pop("flash", None)
    if isinstance(shown, list) and len(shown) == 2 and isinstance(shown[1], dict):
        fields = {k: names.get(v, v) if k == "role" else v for k, v in shown[1].items()}
        context["notice"] = t(str(shown[0]), **fields)
    return context


def flash(request: Request, key: str, **fields: str) -> None:
    """A notice for the next page this browser sees (after a form's 303), as a text key."""
    session = session_of(request)
    if session is not None:
        session["flash"] = [key, fields]


def remember_language(request: Request, response: Response) -> None:
    """Keep a `?lang=` choice in the language cookie."""
    chosen = request.query_params.get("lang")
    if chosen in i18n.LANGUAGES and request.cookies.get(i18n.COOKIE) != chosen:
        response.set_cookie(
            i18n.COOKIE,
            chosen,
            max_age=i18n.COOKIE_SECONDS,
            path="/",
            samesite="lax",
            httponly=True,
            secure=request.url.scheme == "https",
        )


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The page `name` with the layout's context and `context`."""
    response = TEMPLATES.TemplateResponse(
        request,
        name,
        {**page_context(request), **(context or {})},
        status_code=status_code,
        headers=dict(headers or {}),
    )
    response.headers.setdefault("Cache-Control", "no-store")
    remember_language(request, response)
    return response
