"""The users page (admins only): list, add with a role, change a role, reset a password,
remove. Every form carries the CSRF token; each action ends in a 303 and a notice, a refused
one re-renders the page with the reason (400) or 409 for the last admin."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from admin import i18n, passwords
from admin.access import ROLES, Principal, page_role, require_csrf
from admin.auth import AdminAuth
from admin.rendering import flash, language_of, render
from storage import users
from storage.conversation_list import MAX_ID

PAGE = "/admin/users"
NAME = re.compile(r"[^\s\x00-\x1f\x7f]{1,64}")
"""A user name: 1-64 characters, no spaces or control characters."""
Admin = Annotated[Principal, Depends(page_role("admin"))]
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
"""An id a row can have (a larger one was a 500: INTEGER overflow on both databases)."""
Checked = [Depends(require_csrf)]


HIDDEN = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
"""Unicode categories a name may not hold: control, format (zero-width, bidi overrides, soft
hyphen, BOM), private, unassigned; `ann` + U+200B would look exactly like `ann`."""


def has_hidden(text: str) -> bool:
    """Whether `text` holds a character that shows as nothing or reorders what follows."""
    return any(unicodedata.category(c) in HIDDEN for c in text)


def name_problem(name: str) -> str | None:
    """The text key saying why a user name is refused, or None."""
    return None if NAME.fullmatch(name) and not has_hidden(name) else "users.error.name"


def router(auth: AdminAuth) -> APIRouter:
    """The users page and its forms."""
    pages = APIRouter(include_in_schema=False)  # HTML pages: not in /openapi.json

    async def page(
        request: Request, *, status_code: int = 200, error: str | None = None, **form: str
    ) -> Response:
        async with auth.sessions() as session:
            listed = await users.list_users(session=session)
        context: dict[str, Any] = {
            "users": listed,
            "roles": ROLES,
            "min_length": passwords.MIN_LENGTH,
            "form_name": form.get("name", ""),
            "form_role": form.get("role", "viewer"),
            "error": error,
        }
        return render(request, "users.html", context, status_code=status_code)

    def text(request: Request, key: str, **fields: object) -> str:
        return i18n.translator(language_of(request))(key, **fields)

    def done(request: Request, key: str, **fields: str) -> Response:
        flash(request, key, **fields)
        return RedirectResponse(PAGE, status_code=303)

    @pages.get(PAGE)
    async def list_users(request: Request, _admin: Admin) -> Response:
        """Every user with their role, and the forms to manage them."""
        return await page(request)

    @pages.post(PAGE, dependencies=Checked)
    async def add_user(
        request: Request,
        _admin: Admin,
        name: Annotated[str, Form(max_length=200)],
        role: Annotated[str, Form(max_length=16)],
        password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)],
    ) -> Response:
        """Add a user with a role and a first password."""
        name = name.strip()
        form = {"name": name, "role": role}
        problem = name_problem(name)
        if problem is None and role not in ROLES:
            problem = "users.error.role"
        if problem is None and passwords.problem(password):
            problem = "users.error.password"
        if problem is not None:
            message = text(request, problem, min=passwords.MIN_LENGTH)
            return await page(request, status_code=400, error=message, **form)
        password_hash = await passwords.hash_password(password)
        try:
            async with auth.writer.transaction() as session:
                await users.add_user(
                    session=session,
                    name=name,
                    role=role,
                    password_hash=password_hash,
                    now=auth.clock(),
                )
        except IntegrityError:
            message = text(request, "users.error.exists", name=name)
            return await page(request, status_code=409, error=message, **form)
        return done(request, "users.added", name=name)

    @pages.post(PAGE + "/{user_id}/role", dependencies=Checked)
    async def change_role(
        request: Request, _admin: Admin, user_id: RowId, role: Annotated[str, Form(max_length=16)]
    ) -> Response:
        """Give a user another role (never demoting the last admin)."""
        if role not in ROLES:
            return await page(request, status_code=400, error=text(request, "users.error.role"))
        try:
            async with auth.writer.transaction() as session:
                user = await users.set_role(session=session, user_id=user_id, role=role)
        except users.LastAdmin:
            error = text(request, "users.error.last_admin")
            return await page(request, status_code=409, error=error)
        if user is None:
            return await page(request, status_code=404, error=text(request, "users.error.missing"))
        return done(request, "users.role_changed", name=user.name, role=role)

    @pages.post(PAGE + "/{user_id}/password", dependencies=Checked)
    async def reset_password(
        request: Request,
        _admin: Admin,
        user_id: RowId,
        password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)],
    ) -> Response:
        """Set a new password; the user's sessions end."""
        if passwords.problem(password):
            error = text(request, "users.error.password", min=passwords.MIN_LENGTH)
            return await page(request, status_code=400, error=error)
        password_hash = await passwords.hash_password(password)
        async with auth.writer.transaction() as session:
            user = await users.set_password_hash(
                session=session, user_id=user_id, password_hash=password_hash, end_sessions=True
            )
        if user is None:
            return await page(request, status_code=404, error=text(request, "users.error.missing"))
        return done(request, "users.password_reset", name=user.name)

    @pages.post(PAGE + "/{user_id}/remove", dependencies=Checked)
    async def remove_user(request: Request, _admin: Admin, user_id: RowId) -> Response:
        """Remove a user and end their sessions (never the last admin)."""
        try:
            async with auth.writer.transaction() as session:
                user = await users.remove_user(session=session, user_id=user_id)
        except users.LastAdmin:
            error = text(request, "users.error.last_admin")
            return await page(request, status_code=409, error=error)
        if user is None:
            return await page(request, status_code=404, error=text(request, "users.error.missing"))
        return done(request, "users.removed", name=user.name)

    return pages
