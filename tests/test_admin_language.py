"""The admin speaks the person's language down to the names of the apps, models, columns and
choices of our own code (Django's own words come from its catalogs)."""

import pytest
from django.urls import reverse

from tests.factories import make_member, make_order, make_tenant

pytestmark = pytest.mark.django_db


def owner(site: str, language: str, tenant=None):
    user = make_member(tenant or make_tenant(site=site))
    user.language = language
    user.save(update_fields=["language"])
    return user


@pytest.mark.parametrize(
    ("site", "language", "names"),
    [
        ("MLA", "", ["Órdenes", "Vendedores", "Sucursales y cajas", "Apps de socios", "Miembros"]),
        ("MLB", "", ["Pedidos", "Vendedores", "Lojas e caixas", "Apps de parceiros", "Membros"]),
        ("MLA", "en", ["Orders", "Sellers", "Stores and points of sale", "Partner apps"]),
    ],
)
def test_the_admin_index_names_apps_and_models_in_the_persons_language(
    client, site, language, names
):
    client.force_login(owner(site, language))

    page = client.get(reverse("admin:index")).text

    for name in names:
        assert f">{name}<" in page
    if language != "en":
        for english in ("Orders", "Sellers", "Stores and points of sale", "Partner apps"):
            assert f">{english}<" not in page


@pytest.mark.parametrize(
    ("site", "language", "labels", "english"),
    [
        ("MLM", "", ["Referencia externa", "Creado (esperando al comprador)"], True),
        ("MLB", "", ["Referência externa", "Criado (aguardando o comprador)"], True),
        ("MLM", "en", ["External reference", "Created (waiting for the buyer)"], False),
    ],
)
def test_the_order_list_names_columns_and_statuses_in_the_persons_language(
    client, site, language, labels, english
):
    tenant = make_tenant(site=site)
    make_order(tenant)
    client.force_login(owner(site, language, tenant))

    page = client.get(reverse("admin:orders_order_changelist")).text

    for label in labels:
        assert label in page
    assert ("Created (waiting for the buyer)" not in page) is english
