from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import invitations
from accounts.models import Invitation
from tenants.admin_mixins import TenantOwnedAdmin
from tenants.roles import Capability, Role


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            ("open", _("Open")),
            ("expired", _("Expired")),
            ("accepted", _("Accepted")),
            ("revoked", _("Revoked")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        still_open = Q(accepted_at__isnull=True, revoked_at__isnull=True)
        return {
            "open": queryset.filter(still_open, expires_at__gt=now),
            "expired": queryset.filter(still_open, expires_at__lte=now),
            "accepted": queryset.filter(accepted_at__isnull=False),
            "revoked": queryset.filter(revoked_at__isnull=False, accepted_at__isnull=True),
        }.get(self.value(), queryset)


class InvitationForm(forms.ModelForm):
    """Who to invite: an address and a role (and the seller, for platform staff)."""

    class Meta:
        model = Invitation
        fields = ("tenant", "email", "role")
        help_texts = {
            "email": _("The invitation's link is sent to this address."),
        }

    def validate_unique(self) -> None:
        """An address with an open invitation is invited again (``invitations.invite``)."""


@admin.register(Invitation)
class InvitationAdmin(TenantOwnedAdmin):
    """Invitations to join a seller: sent from the add form, resent or revoked from the list.

    Only those who manage members see them (owners of their seller, platform staff); rows are
    never edited, only sent again or revoked (``accounts.invitations``).
    """

    form = InvitationForm
    change_capability = Capability.MANAGE_MEMBERS
    list_display = ("email", "role", "status", "sent_at", "expires_at", "invited_by")
    list_filter = (StatusFilter, "role")
    search_fields = ("email",)
    list_select_related = ("invited_by", "tenant")
    readonly_fields = ("status", "sent_at", "expires_at", "invited_by", "accepted_at")
    actions = ("resend", "revoke")

    @admin.display(description=_("status"))
    def status(self, invitation: Invitation) -> str:
        if invitation.accepted_at is not None:
            return _("Accepted")
        if invitation.revoked_at is not None:
            return _("Revoked")
        return _("Expired") if invitation.has_expired else _("Open")

    def _member_can(self, request, capability, obj=None):
        """Members need the change capability even to see invitations."""
        return super()._member_can(request, self.change_capability, obj)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("tenant", "email", "role")
        return ("tenant", "email", "role", *self.readonly_fields)

    def get_changeform_initial_data(self, request):
        return {"role": Role.CASHIER, **super().get_changeform_initial_data(request)}

    def has_change_permission(self, request, obj=None):
        return False  # sent again or revoked, never edited

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, and kept

    def has_manage_permission(self, request) -> bool:
        """Resending and revoking: whoever may invite."""
        return self.has_add_permission(request)

    def save_model(self, request, obj, form, change):
        tenant = obj.tenant if self._is_platform_staff(request) else request.tenant
        try:
            outcome = invitations.invite(
                tenant=tenant, email=obj.email, role=obj.role, invited_by=request.user
            )
        except invitations.NotAllowedToInvite as refused:
            raise PermissionDenied(str(refused)) from refused
        request.invitation_outcome = outcome
        if outcome.invitation is not None:
            obj.pk = outcome.invitation.pk

    def log_addition(self, request, obj, message):
        if obj.pk is not None:  # nothing was added for a member already
            return super().log_addition(request, obj, message)
        return None

    def response_add(self, request, obj, post_url_continue=None):
        outcome = request.invitation_outcome
        level = messages.WARNING if outcome.kind == invitations.Sent.ALREADY_MEMBER else None
        self.message_user(request, outcome.message, level or messages.SUCCESS)
        if "_addanother" in request.POST:
            return HttpResponseRedirect(request.path)
        return HttpResponseRedirect(reverse("admin:accounts_invitation_changelist"))

    @admin.action(description=_("Send the selected invitations again"), permissions=["manage"])
    def resend(self, request, queryset):
        for invitation in queryset.select_related("tenant"):
            outcome = invitations.invite(
                tenant=invitation.tenant,
                email=invitation.email,
                role=invitation.role,
                invited_by=request.user,
            )
            level = messages.WARNING if outcome.kind == invitations.Sent.ALREADY_MEMBER else None
            self.message_user(request, outcome.message, level or messages.SUCCESS)

    @admin.action(description=_("Revoke the selected invitations"), permissions=["manage"])
    def revoke(self, request, queryset):
        revoked = sum(invitations.revoke(invitation) for invitation in queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d invitation revoked: its link no longer works.",
                "%(count)d invitations revoked: their links no longer work.",
                revoked,
            )
            % {"count": revoked},
            messages.SUCCESS,
        )
