"""In a real browser, a seller's member cannot reach another seller's order or POS in the admin,
neither from the lists nor by typing their URLs."""

import pytest

from tests.browser import chromium  # noqa: F401 (fixture)
from tests.factories import make_member, make_order, make_pos, make_tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_another_sellers_order_and_pos_are_out_of_reach_by_url(chromium, live_server):  # noqa: F811
    seller_a, seller_b = make_tenant("Seller A"), make_tenant("Seller B", site="MLB")
    make_member(seller_a, "owner", "owner-of-a", language="en")
    own = make_order(
        seller_a, pos=make_pos(seller_a, name="Caja propia"), external_reference="own-order"
    )
    other = make_order(
        seller_b, pos=make_pos(seller_b, name="Caixa alheia"), external_reference="other-order"
    )
    context = chromium.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/admin/login/")
    page.fill("#id_username", "owner-of-a")
    page.fill("#id_password", "test-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")

    page.goto("/admin/orders/order/")
    orders = page.inner_text("#result_list")
    page.goto(f"/admin/orders/order/{own.pk}/change/")
    own_page = page.inner_text("#content")
    answers = {}
    for url in (
        f"/admin/orders/order/{other.pk}/change/",
        f"/admin/orders/order/{other.pk}/refund/",
        f"/admin/pos/pointofsale/{other.pos.pk}/change/",
        f"/admin/pos/store/{other.pos.store.pk}/change/",
    ):
        page.goto(url)
        answers[url] = (page.url.removeprefix(live_server.url), page.inner_text("body"))
    page.goto("/admin/pos/pointofsale/")
    points_of_sale = page.inner_text("#content")
    context.close()

    assert "own-order" in orders
    assert "other-order" not in orders
    assert "own-order" in own_page
    for url, (landed, text) in answers.items():
        assert landed == "/admin/", url
        assert "doesn\u2019t exist" in text, url
        assert "other-order" not in text
        assert other.pos.name not in text
    assert other.pos.name not in points_of_sale
    assert own.pos.name in points_of_sale
