from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Value
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from accounts import invitations
from accounts.models import Invitation
from merchant_platform.money import format_money, locale_for_request
from tenants import services
from tenants.admin_mixins import TenantOwnedAdmin
from tenants.models import Membership, MercadoPagoCredential, Tenant, User
from tenants.roles import Capability, Role, role_can, sees_every_tenant


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Accounts are platform staff's business; sellers manage their members as memberships."""

    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Platform"), {"fields": ("is_platform_staff",)}),
    )
    list_display = (*DjangoUserAdmin.list_display, "is_platform_staff")
    list_filter = (*DjangoUserAdmin.list_filter, "is_platform_staff")

    def has_module_permission(self, request):
        return sees_every_tenant(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return sees_every_tenant(request.user) and super().has_view_permission(request, obj)


class TenantAddForm(forms.ModelForm):
    """A new seller, and optionally the address its owner's invitation is sent to."""

    owner_email = forms.EmailField(
        label=_("Owner's e-mail"),
        required=False,
        help_text=_(
            "Optional: saving the seller sends an invitation to this address to join as its owner."
        ),
    )


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """Platform staff manage every seller; a member sees the seller it acts for, read-only."""

    list_display = ("name", "site", "status", "mp_user_id", "fee_percent", "fixed_fee", "fee_limit")
    list_filter = ("status", "site")
    search_fields = ("name", "slug", "mp_user_id")
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        money_locale = Value(locale_for_request(request))  # the fee columns' format
        queryset = super().get_queryset(request).annotate(money_locale=money_locale)
        if sees_every_tenant(request.user):
            return queryset
        return queryset.filter(pk=getattr(request.tenant, "pk", None))

    @admin.display(description=_("marketplace fee (fixed amount)"), ordering="fee_fixed")
    def fixed_fee(self, tenant: Tenant) -> str:
        return format_money(tenant.fee_fixed, tenant.site_info.currency, tenant.money_locale)

    @admin.display(description=_("marketplace fee cap"), ordering="fee_cap")
    def fee_limit(self, tenant: Tenant) -> str:
        if tenant.fee_cap is None:
            return self.get_empty_value_display()
        return format_money(tenant.fee_cap, tenant.site_info.currency, tenant.money_locale)

    def has_module_permission(self, request):
        if sees_every_tenant(request.user):
            return super().has_module_permission(request)
        return role_can(request.tenant_role, Capability.VIEW)

    def has_view_permission(self, request, obj=None):
        if sees_every_tenant(request.user):
            return super().has_view_permission(request, obj)
        return role_can(request.tenant_role, Capability.VIEW) and (
            obj is None or obj == request.tenant
        )

    def has_add_permission(self, request):
        return sees_every_tenant(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return sees_every_tenant(request.user) and super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = TenantAddForm
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        owner_email = form.cleaned_data.get("owner_email")
        if not change and owner_email:
            outcome = invitations.invite(
                tenant=obj, email=owner_email, role=Role.OWNER, invited_by=request.user
            )
            self.message_user(request, outcome.message, messages.SUCCESS)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        invitation_admin = self.admin_site._registry.get(Invitation)
        invite_owner_url = ""
        if invitation_admin is not None and invitation_admin.has_add_permission(request):
            query = urlencode({"tenant": unquote(object_id), "role": Role.OWNER})
            invite_owner_url = f"{reverse('admin:accounts_invitation_add')}?{query}"
        context = {"invite_owner_url": invite_owner_url, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, context)

    def has_delete_permission(self, request, obj=None):
        return sees_every_tenant(request.user) and super().has_delete_permission(request, obj)


class MembershipForm(forms.ModelForm):
    """A member's role. People join by accepting an invitation, never from here."""

    class Meta:
        model = Membership
        fields = ("tenant", "role")

    def clean_role(self):
        role = self.cleaned_data["role"]
        if role != self.instance.role:
            try:
                services.ensure_not_last_owner(self.instance)
            except services.LastOwnerError as error:
                raise forms.ValidationError(str(error)) from error
        return role


@admin.register(Membership)
class MembershipAdmin(TenantOwnedAdmin):
    """Members of a seller: their role is changed here; people are added by invitation
    (``accounts.admin.InvitationAdmin``), and a seller keeps at least one owner."""

    form = MembershipForm
    change_capability = Capability.MANAGE_MEMBERS
    list_display = ("user", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__email")
    list_select_related = ("user", "tenant")
    readonly_fields = ("user",)
    actions = ("delete_selected",)

    def has_add_permission(self, request):
        return False  # people join by accepting an invitation

    def changelist_view(self, request, extra_context=None):
        invitation_admin = self.admin_site._registry.get(Invitation)
        may_invite = invitation_admin is not None and invitation_admin.has_add_permission(request)
        invite_url = reverse("admin:accounts_invitation_add") if may_invite else ""
        return super().changelist_view(request, {"invite_url": invite_url, **(extra_context or {})})

    def save_model(self, request, obj, form, change):
        role = form.cleaned_data["role"]
        obj.role = form.initial.get("role", obj.role)  # the role saved until now
        previous = services.change_role(membership=obj, role=role)
        if previous != role:
            self.message_user(
                request,
                _("Role of %(user)s changed from %(previous)s to %(role)s.")
                % {"user": obj.user, "previous": Role(previous).label, "role": Role(role).label},
                messages.SUCCESS,
            )

    def delete_view(self, request, object_id, extra_context=None):
        membership = self.get_object(request, unquote(object_id))
        if membership is not None and self.has_delete_permission(request, membership):
            try:
                services.ensure_not_last_owner(membership)
            except services.LastOwnerError as error:
                self.message_user(request, str(error), messages.ERROR)
                change = reverse("admin:tenants_membership_change", args=[membership.pk])
                return HttpResponseRedirect(change)
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        services.remove_member(membership=obj)

    @admin.action(
        description=_("Delete selected %(verbose_name_plural)s"),
        permissions=["delete"],
    )
    def delete_selected(self, request, queryset):
        """Django's delete action, refused (nothing removed) when a seller would lose its
        last owner."""
        try:
            services.ensure_owners_remain(list(queryset.select_related("tenant", "user")))
        except services.LastOwnerError as error:
            self.message_user(request, str(error), messages.ERROR)
            return None
        return django_delete_selected(self, request, queryset)

    def delete_queryset(self, request, queryset):
        services.remove_members(memberships=list(queryset.select_related("tenant", "user")))


@admin.register(MercadoPagoCredential)
class MercadoPagoCredentialAdmin(TenantOwnedAdmin):
    """Read-only and for owners only: status, expiry and a masked tail, never a token.

    Connecting goes through the connect page; deleting disconnects.
    """

    change_capability = Capability.MANAGE_CREDENTIALS
    list_display = ("mp_user_id", "source", "status", "expires_at", "masked_token", "refreshed_at")
    list_filter = ("source", "status")
    search_fields = ("mp_user_id",)
    list_select_related = ("tenant",)
    fields = readonly_fields = (
        "source",
        "status",
        "mp_user_id",
        "masked_token",
        "scope",
        "live_mode",
        "expires_at",
        "connected_at",
        "refreshed_at",
    )

    @admin.display(description=_("access token"))
    def masked_token(self, credential: MercadoPagoCredential) -> str:
        return f"…{credential.access_token_tail}"

    def _member_can(self, request, capability, obj=None):
        """Members need the change capability even to see a credential."""
        return super()._member_can(request, self.change_capability, obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        services.disconnect(tenant=obj.tenant)

    def delete_queryset(self, request, queryset):
        for credential in queryset.select_related("tenant"):
            services.disconnect(tenant=credential.tenant)
