"""The admin of partner apps: the seller's connected apps, installing an API client, the
webhook endpoints and deliveries (read-only), the Idempotency-Keys, whose stuck ones can be
released, and the OAuth applications (django-oauth-toolkit's admin, offering only the grant and
client types the platform serves).

Every page is scoped to the seller the member acts for (``TenantOwnedAdmin``); platform staff see
every seller's rows. Members whose role has ``Capability.MANAGE_INTEGRATIONS`` (owners and
managers) may revoke a connected app and install an API client; other members only look.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import BooleanField, ExpressionWrapper
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from oauth2_provider.admin import ApplicationAdmin
from oauth2_provider.forms import ApplicationForm
from oauth2_provider.models import get_application_model

from partners import idempotency, scopes, services
from partners.models import (
    DeliveryAttempt,
    IdempotentRequest,
    PartnerGrant,
    WebhookDelivery,
    WebhookEndpoint,
)
from tenants.admin_mixins import ReadOnly, ReadOnlyInline, TenantOwnedAdmin
from tenants.admin_pagination import EstimatedCountPaginator
from tenants.roles import Capability
from tenants.scope import tenant_scope

Application = get_application_model()

SUPPORTED_GRANT_TYPES = (Application.GRANT_AUTHORIZATION_CODE, Application.GRANT_CLIENT_CREDENTIALS)
"""What the provider serves (partners.oauth): a member's consent by authorization code, always
with PKCE (``PKCE_REQUIRED``), and client credentials for an app installed on one seller. No
implicit, password, device or OpenID Connect grants: OIDC is off, so no signing algorithm."""


class PartnerApplicationForm(ApplicationForm):
    """The toolkit's application form with only the supported grant types, no OIDC algorithm,
    and client credentials only for a confidential client (a public one keeps no secret)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "authorization_grant_type" in self.fields:
            field = self.fields["authorization_grant_type"]
            field.choices = [
                (value, label) for value, label in field.choices if value in SUPPORTED_GRANT_TYPES
            ]
        if "algorithm" in self.fields:
            field = self.fields["algorithm"]
            field.choices = [
                (Application.NO_ALGORITHM, label)
                for value, label in field.choices
                if value == Application.NO_ALGORITHM
            ]

    def clean(self):
        cleaned_data = super().clean()
        if (
            cleaned_data.get("authorization_grant_type") == Application.GRANT_CLIENT_CREDENTIALS
            and cleaned_data.get("client_type") == Application.CLIENT_PUBLIC
        ):
            self.add_error(
                "client_type",
                _("Client credentials need a confidential client: a public one keeps no secret."),
            )
        return cleaned_data


admin.site.unregister(Application)


@admin.register(Application)
class PartnerApplicationAdmin(ApplicationAdmin):
    """django-oauth-toolkit's application admin, on ``PartnerApplicationForm``."""

    form = PartnerApplicationForm


class InstallForm(forms.ModelForm):
    """An API client: a confidential app that acts for this seller alone (client credentials)."""

    name = forms.CharField(
        label=_("Name"),
        max_length=255,
        help_text=_("Who will use it, for example “Back-office ERP”."),
    )
    scopes = forms.MultipleChoiceField(
        choices=list(scopes.SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
        label=_("Scopes"),
        help_text=_("What it may do. Its tokens can ask for these and no more."),
    )

    class Meta:
        model = PartnerGrant
        fields = ["tenant"]


class RevokedFilter(admin.SimpleListFilter):
    title = _("access")
    parameter_name = "access"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("revoked", _("Revoked"))]

    def queryset(self, request, queryset):
        if self.value() in ("active", "revoked"):
            return queryset.filter(revoked_at__isnull=self.value() == "active")
        return queryset


@admin.register(PartnerGrant)
class PartnerGrantAdmin(TenantOwnedAdmin):
    """Connected apps, read-only, with a "Revoke access" action; adding installs an API client.

    The client secret of an installed client is shown once, on the page that follows the form:
    it is stored hashed and no page can show it again.
    """

    change_capability = Capability.MANAGE_INTEGRATIONS
    change_list_template = "admin/partners/partnergrant/change_list.html"
    list_display = ["application", "kind", "scope_list", "granted_by", "created_at", "revoked_at"]
    list_filter = [RevokedFilter]
    search_fields = ["application__name", "application__client_id"]
    list_select_related = ["application", "granted_by", "tenant"]  # str(grant) names the tenant
    show_full_result_count = False  # one count per page is enough
    readonly_fields = [
        "application",
        "client_id",
        "kind",
        "scope_list",
        "granted_by",
        "created_at",
        "updated_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    @admin.display(description=_("how it connects"))
    def kind(self, grant: PartnerGrant) -> str:
        if grant.application.authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS:
            return gettext("API client installed here (client credentials)")
        return gettext("Consent of a member (authorization code)")

    @admin.display(description=_("client id"))
    def client_id(self, grant: PartnerGrant) -> str:
        return grant.application.client_id

    @admin.display(description=_("scopes"))
    def scope_list(self, grant: PartnerGrant) -> str:
        return ", ".join(name for name in scopes.SCOPES if name in grant.scopes)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["tenant", "name", "scopes"]
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return super().get_readonly_fields(request, obj) if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = InstallForm
        return super().get_form(request, obj, change, **kwargs)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {"title": gettext("Connected apps"), **(extra_context or {})}
        )

    def add_view(self, request, form_url="", extra_context=None):
        context = {
            "title": gettext("Install an API client"),
            "show_save_and_add_another": False,
            "show_save_and_continue": False,
            **(extra_context or {}),
        }
        return super().add_view(request, form_url, context)

    def save_model(self, request, obj, form, change):
        tenant = obj.tenant if self._is_platform_staff(request) else request.tenant
        application, secret = services.install_application(
            tenant=tenant,
            name=form.cleaned_data["name"],
            requested=frozenset(form.cleaned_data["scopes"]),
            user=request.user,
        )
        with tenant_scope(tenant):
            obj.pk = PartnerGrant.objects.values_list("pk", flat=True).get(application=application)
        obj.refresh_from_db()
        obj.new_client_secret = secret  # for response_add, the one page that shows it

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("API client installed"),
            "opts": self.opts,
            "grant": obj,
            "client_secret": obj.new_client_secret,
            "token_url": request.build_absolute_uri(reverse("oauth2_provider:token")),
        }
        return TemplateResponse(request, "admin/partners/partnergrant/installed.html", context)

    @admin.action(description=_("Revoke access"), permissions=["revoke"])
    def revoke(self, request, queryset):
        grants = list(queryset.filter(revoked_at__isnull=True).select_related("tenant"))
        for grant in grants:
            services.revoke_grant(tenant=grant.tenant, grant=grant)
        self.message_user(
            request,
            gettext("Access revoked for %(n)d app(s); their tokens stopped working.")
            % {"n": len(grants)},
        )
        if len(grants) < queryset.count():
            self.message_user(
                request, gettext("Apps already revoked were left as they were."), messages.INFO
            )

    def has_revoke_permission(self, request) -> bool:
        if self._is_platform_staff(request):
            return request.user.has_perm("partners.change_partnergrant")
        return self._member_can(request, Capability.MANAGE_INTEGRATIONS)


class EndpointFilter(admin.RelatedFieldListFilter):
    """The seller's endpoints by URL, read without their signing secrets (decrypting 1,100 of
    them cost every page of deliveries some 60 ms)."""

    def field_choices(self, field, request, model_admin):
        return list(WebhookEndpoint.objects.values_list("pk", "url"))


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnly, TenantOwnedAdmin):
    """Partners' webhook endpoints, read-only (partners manage them through the API); never
    their signing secret."""

    list_display = ["url", "event_list", "is_active", "application", "created_at", "deliveries"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    list_select_related = ["application"]
    show_full_result_count = False
    fields = readonly_fields = [
        "url",
        "event_list",
        "description",
        "is_active",
        "application",
        "created_at",
        "updated_at",
        "deliveries",
    ]

    @admin.display(description=_("events"))
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("secret")  # never shown: left undecrypted

    @admin.display(description=_("deliveries"))
    def deliveries(self, endpoint: WebhookEndpoint) -> str:
        url = reverse("admin:partners_webhookdelivery_changelist")
        return format_html(
            '<a href="{}?endpoint__id__exact={}">{}</a>', url, endpoint.pk, gettext("Deliveries")
        )


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = ["created_at", "status_code", "duration_ms", "error", "response_body"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly, TenantOwnedAdmin):
    """Each event sent to an endpoint, read-only, with every attempt and what it was answered."""

    list_display = [
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempt_count",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = [
        "status",
        "event_type",
        ("endpoint", EndpointFilter),
        ("created_at", admin.DateFieldListFilter),  # a date_hierarchy reads every row per page
    ]
    search_fields = ["event_uid", "endpoint__url"]
    list_select_related = ["endpoint"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = readonly_fields = [
        "event_uid",
        "event_type",
        "endpoint",
        "status",
        "attempt_count",
        "next_attempt_at",
        "created_at",
        "delivered_at",
        "payload",
    ]
    inlines = [DeliveryAttemptInline]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("endpoint__secret")  # its URL is shown


class KeyStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("answered", _("Answered")),
            ("running", _("Running")),
            ("stuck", _("Stuck (no answer, its attempt died)")),
        ]

    def queryset(self, request, queryset):
        stuck = idempotency.stuck(now=timezone.now())
        match self.value():
            case "answered":
                return queryset.filter(status_code__isnull=False)
            case "running":
                return queryset.filter(status_code__isnull=True).exclude(stuck)
            case "stuck":
                return queryset.filter(stuck)
        return queryset


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(ReadOnly, TenantOwnedAdmin):
    """The API's Idempotency-Keys, read-only, with "Release stuck keys": a key is stuck when no
    answer is stored for it and it was claimed longer ago than a request can run (see
    ``partners.idempotency``); releasing it lets the partner's next retry with the same key and
    body take it over and finish the operation at once, instead of 409 until its lease ends."""

    change_capability = Capability.MANAGE_INTEGRATIONS
    list_display = ["key", "client", "state", "attempt", "created_at", "lease_until"]
    list_filter = [KeyStateFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["key", "client"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = readonly_fields = [
        "key",
        "client",
        "state",
        "attempt",
        "created_at",
        "lease_until",
        "fingerprint",
        "status_code",
    ]  # never the stored answer: it may hold a secret shown once (a webhook endpoint's)
    actions = ["release"]

    def get_queryset(self, request):
        stuck = idempotency.stuck(now=timezone.now())
        return (
            super()
            .get_queryset(request)
            .annotate(is_stuck=ExpressionWrapper(stuck, BooleanField()))
        )

    @admin.display(description=_("state"))
    def state(self, record: IdempotentRequest) -> str:
        if record.status_code is not None:
            return gettext("answered %(status)s") % {"status": record.status_code}
        if not record.is_stuck:
            return gettext("running")
        held = record.lease_until is not None and record.lease_until > timezone.now()
        if held:
            return gettext("stuck: answers 409 until its lease ends")
        return gettext("stuck: a retry takes it over")

    @admin.action(description=_("Release stuck keys"), permissions=["release"])
    def release(self, request, queryset):
        now = timezone.now()
        released = idempotency.release(queryset.filter(idempotency.stuck(now=now)), now=now)
        self.message_user(
            request,
            gettext(
                "Released %(n)d stuck key(s); keys answered, running or already free were "
                "left as they were."
            )
            % {"n": released},
        )

    def has_release_permission(self, request) -> bool:
        if self._is_platform_staff(request):
            return request.user.has_perm("partners.change_idempotentrequest")
        return self._member_can(request, Capability.MANAGE_INTEGRATIONS)
