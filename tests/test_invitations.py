"""Invitations to join a seller (issue 18): the e-mail, the signed single-use link, setting a
password or accepting signed in, and every way a link cannot be used. Nobody is attached to a
seller without accepting."""

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
import time_machine
from django.conf import settings
from django.contrib.messages import get_messages
from django.core import mail, signing
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import invitations
from accounts.models import Invitation
from tenants.middleware import SESSION_KEY
from tenants.models import Membership, Tenant, User
from tenants.roles import Role
from tenants.scope import cross_tenant_scope, tenant_scope
from tests.factories import make_member, make_tenant, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

INVITATION_ADD = reverse("admin:accounts_invitation_add")


@pytest.fixture
def root(db):
    return make_user("root", is_staff=True, is_superuser=True, language="en")


@pytest.fixture
def parrilla(db):
    return make_tenant("Parrilla Don Julio", site="MLA")


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """Invite through the service, the e-mail sent as after a commit; (outcome, its e-mails)."""

    def send(tenant, email, role, invited_by):
        sent_before = len(mail.outbox)
        with django_capture_on_commit_callbacks(execute=True):
            outcome = invitations.invite(
                tenant=tenant, email=email, role=role, invited_by=invited_by
            )
        return outcome, mail.outbox[sent_before:]

    return send


def link_in(message) -> str:
    """The invitation's link in an e-mail's plain-text part (the same in its HTML part)."""
    link = re.search(r"https?://\S+/accounts/invitations/[^/\s]+/", message.body).group()
    assert link in message.alternatives[0][0]
    return link


def path_of(link: str) -> str:
    return urlsplit(link).path


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def membership(user, tenant) -> Membership | None:
    with tenant_scope(tenant):
        return Membership.objects.filter(user=user).first()


def members_of(tenant) -> dict[str, str]:
    with tenant_scope(tenant):
        return dict(Membership.objects.values_list("user__email", "role"))


def shown_messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def test_staff_invite_an_owner_who_sets_a_password_and_lands_signed_in(
    client, root, parrilla, django_capture_on_commit_callbacks
):
    client.force_login(root)
    preselected = client.get(INVITATION_ADD, {"tenant": parrilla.pk, "role": "owner"})
    assert f'<option value="{parrilla.pk}" selected>' in preselected.text

    form = {"tenant": parrilla.pk, "email": " Julio@Example.COM ", "role": "owner"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(INVITATION_ADD, form)
    assert response.status_code == 302
    assert shown_messages(response) == [
        (
            "success",
            "An invitation to join Parrilla Don Julio as Owner was sent to julio@example.com.",
        )
    ]
    assert not User.objects.filter(email__iexact="julio@example.com").exists()  # not yet

    [message] = mail.outbox
    assert message.to == ["julio@example.com"]
    link = link_in(message)
    assert link.startswith(f"{settings.SITE_URL}/accounts/invitations/")
    # No account: the seller's language, Spanish as Argentina writes it (MLA).
    html = message.alternatives[0][0]
    assert message.alternatives[0][1] == "text/html"
    assert 'lang="es-ar"' in html
    assert "Dueño" in message.subject
    assert "Parrilla Don Julio" in message.subject
    for part in (message.body, html):
        assert "Dueño" in part
        assert "Parrilla Don Julio" in part
        assert "root@example.com" in part
    with cross_tenant_scope():
        invitation = Invitation.objects.get()
    assert invitation.expires_at - invitation.sent_at == timedelta(days=7)

    invitee = Client()
    page = invitee.get(path_of(link))
    assert page.status_code == 200
    assert 'lang="es-ar"' in page.text
    assert "Dueño" in page.text
    assert 'name="new_password1"' in page.text
    weak = invitee.post(path_of(link), {"new_password1": "julio", "new_password2": "julio"})
    assert weak.status_code == 200
    assert weak.context["form"].errors
    assert not User.objects.filter(email="julio@example.com").exists()

    password = "asado-de-tira-2026"
    joined = invitee.post(path_of(link), {"new_password1": password, "new_password2": password})
    assert joined.status_code == 302
    assert joined.url == reverse("landing")
    owner = User.objects.get(email="julio@example.com")
    assert owner.username == "julio@example.com"
    assert owner.check_password(password)
    assert members_of(parrilla) == {"julio@example.com": Role.OWNER}
    assert invitee.session["_auth_user_id"] == str(owner.pk)
    assert invitee.session[SESSION_KEY] == parrilla.pk
    assert invitee.get(reverse("admin:index")).status_code == 200  # signed in, in the admin
    invitation.refresh_from_db()
    assert (invitation.accepted_by, invitation.accepted_at is not None) == (owner, True)

    assert invitee.get(path_of(link)).url == reverse("landing")  # used: it was them
    again = Client().get(path_of(link))
    assert again.status_code == 410


def test_an_account_accepts_while_signed_in(send, tenant_a, owner_a, tenant_b):
    maria = make_member(tenant_b, Role.CASHIER, "maria", language="en")
    outcome, [message] = send(tenant_a, "MARIA@example.com", Role.MANAGER, owner_a)
    assert outcome.kind == invitations.Sent.SENT
    assert "Manager" in message.body  # her own language
    url = path_of(link_in(message))

    signed_out = Client().get(url)
    assert signed_out.status_code == 200
    assert 'name="new_password1"' not in signed_out.text  # she has an account
    sign_in = f"{reverse('admin:login')}?{urlencode({'next': url})}"
    assert sign_in in signed_out.text

    client = signed_in(maria)
    page = client.get(url)
    assert page.status_code == 200
    assert 'id="invitation-accept"' in page.text
    assert membership(maria, tenant_a) is None  # looking is not accepting
    accepted = client.post(url)
    assert accepted.url == reverse("landing")
    assert membership(maria, tenant_a).role == Role.MANAGER
    assert membership(maria, tenant_b).role == Role.CASHIER
    assert client.session[SESSION_KEY] == tenant_a.pk  # she now acts for the seller she joined
    assert shown_messages(accepted) == [("success", "Welcome: you joined Seller A as Manager.")]


def test_another_account_signed_in_is_told_and_nothing_is_attached(send, tenant_a, owner_a):
    _outcome, [message] = send(tenant_a, "pedro@example.com", Role.CASHIER, owner_a)
    url = path_of(link_in(message))
    intruder = make_user("intruder", language="en")
    client = signed_in(intruder)

    for response in (client.get(url), client.post(url)):
        assert response.status_code == 403
        assert "p•••@example.com" in response.text
        assert "pedro@example.com" not in response.text
        assert "signed in as intruder" in response.text
    assert membership(intruder, tenant_a) is None
    with tenant_scope(tenant_a):
        assert Invitation.objects.get().accepted_at is None


def test_an_expired_link_says_to_ask_for_a_new_one(send, tenant_a, owner_a):
    _outcome, [message] = send(tenant_a, "late@example.com", Role.VIEWER, owner_a)
    url = path_of(link_in(message))
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        response = Client().get(url)
    assert response.status_code == 410
    # In the seller's Spanish: the invitee has no account, so no language of their own.
    assert "venció" in response.text
    assert "nueva invitación" in response.text
    assert 'name="new_password1"' not in response.text


def test_a_shorter_expiry_on_the_row_ends_the_link_before_the_signature_does(
    send, tenant_a, owner_a
):
    _outcome, [message] = send(tenant_a, "late@example.com", Role.VIEWER, owner_a)
    with tenant_scope(tenant_a):
        Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get(path_of(link_in(message))).status_code == 410


def test_resending_kills_the_old_link_and_says_so_when_the_role_changes(send, tenant_a, owner_a):
    first, [old_message] = send(tenant_a, "ana@example.com", Role.VIEWER, owner_a)
    second, [new_message] = send(tenant_a, "Ana@Example.com", Role.MANAGER, owner_a)

    assert second.kind == invitations.Sent.RESENT
    assert second.message == (
        "ana@example.com already had an invitation to Seller A: its role changed from Viewer to "
        "Manager, and a new link was sent. The earlier link no longer works."
    )
    assert second.invitation.pk == first.invitation.pk
    assert second.invitation.role == Role.MANAGER
    same_role, _ = send(tenant_a, "ana@example.com", Role.MANAGER, owner_a)
    assert "changed" not in same_role.message
    assert "new link was sent" in same_role.message

    old = Client().get(path_of(link_in(old_message)))
    assert old.status_code == 410
    assert "invitación más reciente" in old.text
    newest = Client().get(path_of(link_in(mail.outbox[-1])))
    assert newest.status_code == 200
    assert 'name="new_password1"' in newest.text
    assert Client().get(path_of(link_in(new_message))).status_code == 410  # replaced again


def test_a_revoked_invitation_no_longer_works(send, tenant_a, owner_a):
    outcome, [message] = send(tenant_a, "gone@example.com", Role.CASHIER, owner_a)
    assert invitations.revoke(outcome.invitation) is True
    assert invitations.revoke(outcome.invitation) is False
    response = Client().get(path_of(link_in(message)))
    assert response.status_code == 410
    assert "fue retirada" in response.text


def test_a_tampered_or_foreign_token_is_not_valid(send, tenant_a, owner_a):
    outcome, [message] = send(tenant_a, "x@example.com", Role.CASHIER, owner_a)
    token = path_of(link_in(message)).split("/")[-2]
    forged = signing.dumps({"i": outcome.invitation.pk, "n": outcome.invitation.nonce})  # no salt
    for bad in (token[:-2] + "xx", forged, "nothing"):
        response = Client().get(reverse("accounts:invitation", args=[bad]))
        assert response.status_code == 404
        assert "not valid" in response.text
    assert not User.objects.filter(email="x@example.com").exists()


def test_accepting_twice_attaches_once(send, tenant_a, owner_a):
    outcome, _ = send(tenant_a, "twice@example.com", Role.CASHIER, owner_a)
    invitation = invitations.open_link(invitations.token_for(outcome.invitation))
    user = make_user("twice")
    invitations.accept(invitation, user)
    with pytest.raises(invitations.UsedLink):
        invitations.accept(invitation, user)
    with pytest.raises(invitations.UsedLink):
        invitations.accept_with_new_password(invitation, "another-long-pass-1")
    assert members_of(tenant_a) == {"owner-a@example.com": "owner", "twice@example.com": "cashier"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="parallel writers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_accepts_at_once_one_wins(django_capture_on_commit_callbacks):
    seller = make_tenant("Race", site="MLA")
    staff = make_user("ops", is_staff=True, is_platform_staff=True)
    outcome = invitations.invite(
        tenant=seller, email="race@example.com", role="viewer", invited_by=staff
    )
    invitation = invitations.open_link(invitations.token_for(outcome.invitation))

    def accept(_):
        try:
            invitations.accept_with_new_password(invitation, "a-long-pass-2026")
            return "joined"
        except invitations.InvitationError as error:
            return type(error).__name__
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = sorted(pool.map(accept, range(4)))
    assert results.count("joined") == 1
    assert set(results) - {"joined"} <= {"UsedLink", "InvalidLink"}
    assert members_of(seller) == {"race@example.com": "viewer"}


def test_reinviting_a_member_changes_nothing_and_says_how_to(
    client, send, tenant_a, owner_a, django_capture_on_commit_callbacks
):
    cashier = make_member(tenant_a, Role.CASHIER, "cashier-a")
    outcome, sent = send(tenant_a, "cashier-a@example.com", Role.MANAGER, owner_a)
    assert (outcome.kind, sent) == (invitations.Sent.ALREADY_MEMBER, [])
    assert outcome.message == (
        "cashier-a@example.com is already a member of Seller A, as Cashier. Nothing was changed: "
        "to change their role, open their membership in Members."
    )
    assert membership(cashier, tenant_a).role == Role.CASHIER

    # The last owner, invited as a viewer from the admin: a warning, no 500, still the owner.
    client.force_login(owner_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            INVITATION_ADD, {"email": "owner-a@example.com", "role": Role.VIEWER}
        )
    assert response.status_code == 302
    assert shown_messages(response) == [
        (
            "warning",
            "owner-a@example.com is already a member of Seller A, as Owner. Nothing was "
            "changed: to change their role, open their membership in Members.",
        )
    ]
    assert membership(owner_a, tenant_a).role == Role.OWNER
    assert len(mail.outbox) == 0
    with tenant_scope(tenant_a):
        assert not Invitation.objects.exists()


def test_the_last_owner_is_never_demoted_or_removed_from_the_admin(client, tenant_a, owner_a):
    client.force_login(owner_a)
    own = membership(owner_a, tenant_a)
    change = reverse("admin:tenants_membership_change", args=[own.pk])
    refusal = "is the last owner of Seller A, and a seller keeps at least one owner"

    demoted = client.post(change, {"role": Role.VIEWER})
    assert demoted.status_code == 200
    assert refusal in demoted.text

    deleting = client.get(reverse("admin:tenants_membership_delete", args=[own.pk]))
    assert deleting.url == change
    assert refusal in client.get(change).text  # the message, on the membership's page

    bulk = client.post(
        reverse("admin:tenants_membership_changelist"),
        {"action": "delete_selected", "_selected_action": [own.pk], "post": "yes"},
    )
    assert bulk.status_code == 302
    assert [level for level, text in shown_messages(bulk) if refusal in text] == ["error"]
    assert membership(owner_a, tenant_a).role == Role.OWNER


def test_a_role_change_says_from_which_role_to_which(client, tenant_a, owner_a):
    cashier = make_member(tenant_a, Role.CASHIER, "cashier-a")
    client.force_login(owner_a)
    change = reverse("admin:tenants_membership_change", args=[membership(cashier, tenant_a).pk])
    response = client.post(change, {"role": Role.MANAGER})
    assert response.status_code == 302
    assert ("success", "Role of cashier-a changed from Cashier to Manager.") in shown_messages(
        response
    )
    assert membership(cashier, tenant_a).role == Role.MANAGER


def test_an_owner_invites_a_cashier_into_their_own_seller_only(
    client, tenant_a, owner_a, tenant_b, django_capture_on_commit_callbacks
):
    client.force_login(owner_a)
    members = client.get(reverse("admin:tenants_membership_changelist"))
    assert f'href="{INVITATION_ADD}"' in members.text  # "Invite a member"
    assert client.get(reverse("admin:tenants_membership_add")).status_code == 403
    form = client.get(INVITATION_ADD)
    assert f'<option value="{tenant_b.pk}"' not in form.text  # no seller to choose

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            INVITATION_ADD, {"tenant": tenant_b.pk, "email": "caja@example.com", "role": "cashier"}
        )
    assert response.status_code == 302
    with cross_tenant_scope():
        invitation = Invitation.objects.get()
    assert (invitation.tenant, invitation.role, invitation.invited_by) == (
        tenant_a,
        Role.CASHIER,
        owner_a,
    )
    assert mail.outbox[0].to == ["caja@example.com"]
    with pytest.raises(invitations.NotAllowedToInvite):
        invitations.invite(
            tenant=tenant_b, email="x@example.com", role="viewer", invited_by=owner_a
        )


@pytest.mark.parametrize("role", [Role.MANAGER, Role.CASHIER, Role.VIEWER])
def test_members_who_do_not_manage_members_cannot_invite(client, tenant_a, role):
    member = make_member(tenant_a, role)
    client.force_login(member)
    assert client.get(INVITATION_ADD).status_code == 403
    posted = client.post(INVITATION_ADD, {"email": "friend@example.com", "role": "owner"})
    assert posted.status_code == 403
    with pytest.raises(invitations.NotAllowedToInvite):
        invitations.invite(tenant=tenant_a, email="f@example.com", role="owner", invited_by=member)
    with tenant_scope(tenant_a):
        assert not Invitation.objects.exists()


def test_platform_staff_cannot_accept_a_sellers_invitation(send, tenant_a, owner_a):
    ops = make_user("ops", is_staff=True, is_platform_staff=True, language="en")
    outcome, [message] = send(tenant_a, "ops@example.com", Role.MANAGER, owner_a)
    url = path_of(link_in(message))
    client = signed_in(ops)
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 403
        assert "platform staff" in response.text
    with pytest.raises(invitations.StaffCannotAccept):
        invitations.accept(outcome.invitation, ops)
    assert membership(ops, tenant_a) is None


def test_an_account_never_activated_sets_its_password_from_the_invitation(send, tenant_a, owner_a):
    pending = make_user("self.signup@example.com", is_active=False)  # awaiting its verification
    _outcome, [message] = send(tenant_a, pending.email, Role.VIEWER, owner_a)
    client = Client()
    url = path_of(link_in(message))
    assert 'name="new_password1"' in client.get(url).text
    joined = client.post(
        url, {"new_password1": "a-long-pass-2026", "new_password2": "a-long-pass-2026"}
    )
    assert joined.url == reverse("landing")
    pending.refresh_from_db()
    assert pending.is_active
    assert pending.check_password("a-long-pass-2026")
    assert membership(pending, tenant_a).role == Role.VIEWER


def test_a_new_seller_with_an_owners_email_sends_the_invitation(
    client, root, django_capture_on_commit_callbacks
):
    client.force_login(root)
    add = reverse("admin:tenants_tenant_add")
    assert 'name="owner_email"' in client.get(add).text
    form = {
        "name": "Heladería Sur",
        "slug": "heladeria-sur",
        "site": "MLU",
        "status": "active",
        "fee_percent": "0",
        "fee_fixed": "0",
        "order_api": "v1",
        "qr_mode": "dynamic",
        "owner_email": "sur@example.com",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(add, form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert (
        "success",
        "An invitation to join Heladería Sur as Owner was sent to sur@example.com.",
    ) in shown_messages(response)
    [message] = mail.outbox
    assert message.to == ["sur@example.com"]
    tenant = Tenant.objects.get(slug="heladeria-sur")
    assert members_of(tenant) == {}
    change = client.get(reverse("admin:tenants_tenant_change", args=[tenant.pk]))
    assert f"{INVITATION_ADD}?tenant={tenant.pk}&amp;role=owner" in change.text


def test_an_owner_resends_and_revokes_from_the_list(
    client, send, tenant_a, owner_a, django_capture_on_commit_callbacks
):
    outcome, [first] = send(tenant_a, "later@example.com", Role.CASHIER, owner_a)
    client.force_login(owner_a)
    changelist = reverse("admin:accounts_invitation_changelist")
    listed = client.get(changelist, {"status": "open"})
    assert "later@example.com" in listed.text
    selected = {"_selected_action": [outcome.invitation.pk]}

    with django_capture_on_commit_callbacks(execute=True):
        resent = client.post(changelist, {"action": "resend", **selected})
    assert "a new link was sent" in shown_messages(resent)[-1][1]
    [second] = mail.outbox[1:]
    assert Client().get(path_of(link_in(first))).status_code == 410
    revoked = Client()
    revoked.force_login(owner_a)
    answer = revoked.post(changelist, {"action": "revoke", **selected})
    assert shown_messages(answer) == [
        ("success", "1 invitation revoked: its link no longer works.")
    ]
    assert Client().get(path_of(link_in(second))).status_code == 410
    assert "later@example.com" in client.get(changelist, {"status": "revoked"}).text
    assert "later@example.com" not in client.get(changelist, {"status": "open"}).text
