"""Every admin page and form checks the role: not signed in → 303 to the sign-in page with
`next`, a role too low → a 403 page, CSRF missing or wrong → a 403 page and nothing changes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI

from tests.admin.conftest import Visitor, add_user

ROLES = ("anonymous", "viewer", "agent", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}

PAGES = [("/admin", "viewer"), ("/admin/users", "admin"), ("/admin/tokens", "admin")]
FORMS = [
    ("/admin/users", {"name": "dee", "role": "viewer", "password": "a long enough one"}),
    ("/admin/users/{victim}/role", {"role": "admin"}),
    ("/admin/users/{victim}/password", {"password": "another long one"}),
    ("/admin/users/{victim}/remove", {}),
    ("/admin/tokens", {"name": "bi", "role": "admin"}),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("path", "needed"), PAGES)
async def test_every_page_checks_the_role(
    signed_in: dict[str, Visitor], role: str, path: str, needed: str
) -> None:
    response = await signed_in[role].get(path, headers={"Accept-Language": "en"})
    if role == "anonymous":
        assert response.status_code == 303
        location = urlsplit(response.headers["location"])
        assert location.path == "/admin/login"
        assert parse_qs(location.query)["next"] == [path]
    elif RANK[role] < RANK[needed]:
        assert response.status_code == 403
        assert "Not allowed" in response.text and "it needs admin" in response.text
    else:
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("path", "form"), FORMS, ids=[path for path, _ in FORMS])
async def test_every_form_is_for_admins_only(
    app: FastAPI, signed_in: dict[str, Visitor], role: str, path: str, form: dict[str, str]
) -> None:
    victim = await add_user(app, "victim", "viewer")
    visitor = signed_in[role]
    response = await visitor.post(path.format(victim=victim), form)
    if role == "anonymous":
        assert response.status_code == 303
        assert response.headers["location"].startswith("/admin/login?next=")
    elif role != "admin":
        assert response.status_code == 403
    else:
        assert response.status_code in (200, 303), response.text
    assert await changed(signed_in["admin"], path) == (role == "admin")


async def changed(admin: Visitor, path: str) -> bool:
    """Whether the form at `path` did what it does (as the admin sees it)."""
    if path == "/admin/tokens":
        return "data-token=" in (await admin.get("/admin/tokens")).text
    listed = (await admin.get("/admin/users")).text
    if path == "/admin/users":
        return 'data-user="dee"' in listed
    if path.endswith("/remove"):
        return 'data-user="victim"' not in listed
    if path.endswith("/role"):
        row = listed.split('data-user="victim"')[1].split("</tr>")[0]
        return 'value="admin" selected' in row
    fresh = Visitor(admin.app)  # a reset password: signing in with it tells
    try:
        return (await fresh.sign_in("victim", "another long one")).status_code == 303
    finally:
        await fresh.close()


@pytest.mark.parametrize(
    "csrf",
    [
        pytest.param(None, id="missing"),
        pytest.param("forged", id="wrong"),
        pytest.param("other-session", id="another-session"),
    ],
)
async def test_a_form_without_the_session_s_csrf_token_is_refused(
    app: FastAPI, signed_in: dict[str, Visitor], csrf: str | None
) -> None:
    admin = signed_in["admin"]
    await admin.get("/admin/users")
    form = {"name": "mallory", "role": "admin", "password": "a long enough one"}
    if csrf == "other-session":
        form["csrf_token"] = signed_in["viewer"].csrf
    elif csrf is not None:
        form["csrf_token"] = csrf
    response = await admin.post("/admin/users", form, csrf=False)
    assert response.status_code == 403
    assert "表单已过期" in response.text or "Form expired" in response.text
    assert "mallory" not in (await admin.get("/admin/users")).text


async def test_the_csrf_token_may_come_in_a_header(signed_in: dict[str, Visitor]) -> None:
    admin = signed_in["admin"]
    await admin.get("/admin/users")
    response = await admin.http.post(
        "/admin/users",
        data={"name": "dee", "role": "viewer", "password": "a long enough one"},
        headers={"X-CSRF-Token": admin.csrf},
    )
    assert response.status_code == 303
    assert 'data-user="dee"' in (await admin.get("/admin/users")).text


async def test_a_bearer_header_does_not_excuse_a_cookie_form_from_csrf(
    signed_in: dict[str, Visitor],
) -> None:
    """The pages take the session, never the bearer token: any `Authorization: Bearer`
    value used to skip the CSRF check while the cookie still signed the form."""
    admin = signed_in["admin"]
    await admin.get("/admin/users")
    form = {"name": "mallory", "role": "admin", "password": "a long enough one"}
    for header in ("Bearer nonsense", "bearer cxb_forged"):
        response = await admin.http.post(
            "/admin/users", data=form, headers={"Authorization": header}
        )
        assert response.status_code == 403, header
    refused = await admin.http.post("/admin/logout", headers={"Authorization": "Bearer x"})
    assert refused.status_code == 403
    assert "mallory" not in (await admin.get("/admin/users")).text


async def test_sign_out_needs_the_csrf_token(signed_in: dict[str, Visitor]) -> None:
    viewer = signed_in["viewer"]
    refused = await viewer.post("/admin/logout", csrf=False)
    assert refused.status_code == 403
    assert (await viewer.get("/admin")).status_code == 200


@pytest.mark.parametrize(
    "name",
    ["ann\u200b", "\u202eann", "an\u00adn", "\ufeffann", "ann\u2063"],
    ids=["zero-width-space", "right-to-left-override", "soft-hyphen", "bom", "invisible-sep"],
)
async def test_a_name_with_invisible_characters_is_refused(
    signed_in: dict[str, Visitor], name: str
) -> None:
    """`ann` + U+200B looked exactly like `ann` on the users page (and in `created_by`)."""
    admin = signed_in["admin"]
    await admin.get("/admin/users")
    added = await admin.post("/admin/users", {"name": name, "role": "admin", "password": "p" * 12})
    assert added.status_code == 400, added.status_code
    await admin.get("/admin/tokens")
    token = await admin.post("/admin/tokens", {"name": name, "role": "admin"})
    assert token.status_code == 400, token.status_code
    assert "cxb_" not in token.text


async def test_a_malformed_form_is_a_4xx(signed_in: dict[str, Visitor]) -> None:
    admin = signed_in["admin"]
    await admin.get("/admin/users")
    for path, form in [
        ("/admin/users/not-a-number/role", {"role": "admin"}),
        ("/admin/users", {"name": "x" * 300, "role": "admin", "password": "p" * 20}),
        ("/admin/users", {}),
        ("/admin/users/1/role", {"role": "root"}),
        ("/admin/tokens/99999/revoke", {}),
        ("/admin/users/99999/remove", {}),
    ]:
        response = await admin.post(path, form)
        assert 400 <= response.status_code < 500, (path, response.status_code)


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.parametrize("user_id", ["2147483648", "99999999999999999999", "0", "-1"])
async def test_an_id_no_row_can_have_is_a_4xx(
    signed_in: dict[str, Visitor], backend: str, user_id: str
) -> None:
    """Out of INTEGER range was a 500 (SQLite: OverflowError; PostgreSQL: the driver)."""
    admin = signed_in["admin"]
    await admin.get("/admin/users")
    for path, form in [
        (f"/admin/users/{user_id}/role", {"role": "viewer"}),
        (f"/admin/users/{user_id}/password", {"password": "a long enough one"}),
        (f"/admin/users/{user_id}/remove", {}),
        (f"/admin/tokens/{user_id}/revoke", {}),
    ]:
        response = await admin.post(path, form)
        assert 400 <= response.status_code < 500, (backend, path, response.status_code)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data; boundary=x", b"--x\r\nnot a part\r\n"),
        ("multipart/form-data", b"no boundary"),
        ("application/json", b'{"name": "ann"}'),
        ("application/x-www-form-urlencoded", b"name=%ZZ&password=\x00\xff"),
        ("text/plain", b"\xff\xfe"),
    ],
)
async def test_a_malformed_sign_in_is_a_4xx(
    signed_in: dict[str, Visitor], content_type: str, body: bytes
) -> None:
    visitor = signed_in["anonymous"]
    response = await visitor.http.post(
        "/admin/login", content=body, headers={"Content-Type": content_type}
    )
    assert 400 <= response.status_code < 500, response.text


async def test_odd_sign_in_fields_are_refused_calmly(signed_in: dict[str, Visitor]) -> None:
    visitor = signed_in["anonymous"]
    for form in (
        {"name": "ann\x00", "password": "x"},
        {"name": "a" * 5000, "password": "p" * 5000, "next": "/" + "x" * 5000},
        {"name": "ann"},
    ):
        response = await visitor.post("/admin/login", form)
        assert response.status_code == 400, form
