"""What needs a confirmation asks for one, and what may not be done is not offered:
no delete control for one's own user (and the server refuses it); revoking an app or a grant asks first."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from tests.fixtures.security import get_token, make_app


def _only_other_user(account_id: int, but: int) -> int:
    """The signed-in admin: the account's one user besides ``but``."""
    from app.accounts.models import User
    from app.database.engine import session_scope

    with session_scope() as session:
        (user_id,) = session.scalars(select(User.id).where(User.account_id == account_id, User.id != but)).all()
        return user_id


def test_an_admin_is_offered_no_delete_for_themselves_and_the_server_refuses_it(staff_client) -> None:
    from app.accounts import service as accounts
    from app.accounts.models import User
    from app.database.engine import session_scope

    client, account_id = staff_client
    with session_scope() as session:
        other = accounts.create_user(session, account_id, f"other-{uuid.uuid4().hex[:8]}@example.com", "correct horse battery", role="staff").id
    me = _only_other_user(account_id, but=other)

    listing = client.get("/users").text
    assert f'href="/users/{other}/delete"' in listing
    assert f'href="/users/{me}/delete"' not in listing
    assert f'href="/users/{me}/delete' not in client.get(f"/users/{me}").text
    assert f'href="/users/{other}/delete' in client.get(f"/users/{other}").text

    confirm = client.get(f"/users/{me}/delete")
    assert confirm.status_code == 403
    assert "You cannot delete yourself." in confirm.text
    assert 'type="submit" class="danger"' not in confirm.text
    assert client.get(f"/users/{me}/delete", headers={"hx-request": "true"}).status_code == 403

    refused = client.post(f"/users/{me}/delete", data={}, follow_redirects=True)
    assert "You cannot delete yourself." in refused.text
    with session_scope() as session:
        assert session.get(User, me) is not None


def test_revoking_an_app_asks_first_without_javascript(staff_client) -> None:
    from app.database.engine import session_scope
    from app.integrations.models import OAuthApp

    client, account_id = staff_client
    app = make_app(account_id, name=f"Sync {uuid.uuid4().hex[:6]}")

    for page in (client.get("/integrations").text, client.get(f"/integrations/{app.id}").text):
        # The Revoke control leads to the confirmation; no form on the page revokes at once.
        assert f'action="/integrations/{app.id}/revoke"' not in page
        assert re.search(rf'href="/integrations/{app.id}/revoke(\?[^"]*)?"', page)

    confirm = client.get(f"/integrations/{app.id}/revoke")
    assert confirm.status_code == 200
    assert "loses its access now" in confirm.text
    assert f'<form method="post" action="/integrations/{app.id}/revoke"' in confirm.text
    assert 'class="button secondary cancel" href="/integrations"' in confirm.text
    from_detail = client.get(f"/integrations/{app.id}/revoke", params={"next": f"/integrations/{app.id}"})
    assert f'class="button secondary cancel" href="/integrations/{app.id}"' in from_detail.text
    dialog = client.get(f"/integrations/{app.id}/revoke", headers={"hx-request": "true"})
    assert dialog.text.startswith('<div class="dialog-body">') and "loses its access now" in dialog.text
    with session_scope() as session:
        assert session.get(OAuthApp, app.id).revoked_at is None

    revoked = client.post(f"/integrations/{app.id}/revoke", data={}, follow_redirects=False)
    assert revoked.status_code == 303
    with session_scope() as session:
        assert session.get(OAuthApp, app.id).revoked_at is not None
    # A revoked app has nothing left to confirm.
    assert client.get(f"/integrations/{app.id}/revoke", follow_redirects=False).headers["location"] == f"/integrations/{app.id}"


def test_revoking_a_grant_asks_first(staff_client) -> None:
    from app.integrations import service

    client, account_id = staff_client
    app = make_app(account_id, name=f"Sync {uuid.uuid4().hex[:6]}")
    get_token(client, app)
    from app.database.engine import session_scope

    with session_scope() as session:
        (grant,) = service.grants(session, account_id, app.id)
    detail = client.get(f"/integrations/{app.id}").text
    assert f'action="/integrations/{app.id}/grants/{grant.family}/revoke"' not in detail
    assert f'href="/integrations/{app.id}/grants/{grant.family}/revoke"' in detail

    confirm = client.get(f"/integrations/{app.id}/grants/{grant.family}/revoke")
    assert confirm.status_code == 200
    assert "its access and refresh tokens stop working at once" in confirm.text
    assert f'<form method="post" action="/integrations/{app.id}/grants/{grant.family}/revoke"' in confirm.text
    assert client.get(f"/integrations/{app.id}/grants/{'0' * 32}/revoke").status_code == 404
    assert client.get(f"/integrations/{app.id}/grants/not-a-family/revoke").status_code == 404
    with session_scope() as session:
        assert len(service.grants(session, account_id, app.id)) == 1
