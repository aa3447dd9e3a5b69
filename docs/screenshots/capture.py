"""Take the README's screenshots by walking the demo flow in Debian's headless Chromium.

Run ``make run`` in one terminal (fresh demo data), then in another:
``.venv/bin/python docs/screenshots/capture.py [--base-url http://127.0.0.1:8000]``.

As the cashier of the demo seller *Parrilla del Puerto* it creates a few orders on the cashier
page (with the seller's default API and QR mode); the POS's customer display stays open beside it,
as on a counter. The buyer pays some orders in the sandbox wallet (the QR is decoded from the
display's screenshot, as a phone would read it) and the cashier cancels one. Then the owner
refunds part of the first order. It saves the display with an open order and once it is paid, the
cashier page at 390 px with that open order and its paid state at 1280 px, the owner's page of the
refunded order and the dashboard of the last 7 days. The pages are in the seller's language, so it
finds things by their ids, never by their texts.
"""

import argparse
import shutil
import sys
from io import BytesIO
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
from tests.browser import CHROMIUM_ARGS  # noqa: E402 (the browser tests' flags)

WIDE = {"width": 1280, "height": 800}  # a counter PC, or a landscape tablet as the display
PHONE = {"width": 390, "height": 844}
ARGENTINA = "America/Argentina/Buenos_Aires"  # where the demo seller and its people are
PASSWORD = "demo-pass-123"  # noqa: S105 (the demo accounts' public password)
# (amount as an Argentine cashier types it, description, what happens to the order)
ORDERS = [
    ("18.500,00", "Bife de chorizo y vino", "pay"),  # the owner refunds part of it
    ("7.200,00", "Empanadas x6", "pay"),
    ("3.100,00", "Flan con dulce de leche", "cancel"),
    ("12.900,00", "Provoleta y ensalada", "pay"),
    ("24.350,00", "Parrillada para dos", "show"),  # paid, with screenshots before and after
]
REFUND = "5.000,00"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    base_url = parser.parse_args().base_url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        cashier = signed_in(browser, base_url, "cashier.ar", "/cashier/")
        display = cashier.context.new_page()
        for amount, description, outcome in ORDERS:
            uid = create_order(cashier, amount, description)
            if display.url == "about:blank":  # the link to it is beside an open order
                display.goto(cashier.get_attribute("#order-open a[href*='/display/']", "href"))
            shown = display.locator(f"main[data-uid='{uid}']")
            shown.locator("#qr svg").wait_for(timeout=15_000)
            if outcome == "show":
                display.screenshot(path=HERE / "display-open.png")
                cashier.set_viewport_size(PHONE)
                cashier.screenshot(path=HERE / "cashier-390.png")
                cashier.set_viewport_size(WIDE)
            if outcome == "cancel":
                cashier.click("#cancel-ask")
                cashier.click("#cancel-confirm")
                shown.locator("#canceled").wait_for(timeout=15_000)
                continue
            pay(browser, base_url, qr_data_on(display))
            shown.locator("#paid").wait_for(timeout=15_000)
            cashier.locator("#order-final[data-state=paid]").wait_for(timeout=15_000)
        display.screenshot(path=HERE / "display-paid.png")
        cashier.screenshot(path=HERE / "cashier-paid.png")

        owner = signed_in(browser, base_url, "owner.ar", "/admin/")
        refund_part(owner, ORDERS[0][1], REFUND)
        owner.screenshot(path=HERE / "order-admin.png", full_page=True)
        owner.goto("/admin/dashboard/")
        owner.locator(".period-recent").first.click()  # the last 7 days: with the chart
        owner.locator("#takings-chart").wait_for()
        owner.screenshot(path=HERE / "dashboard.png", full_page=True)
        browser.close()
    print(f"Screenshots written to {HERE}")


def signed_in(browser: Browser, base_url: str, username: str, next_path: str) -> Page:
    context = browser.new_context(
        base_url=base_url, viewport=WIDE, locale="es-AR", timezone_id=ARGENTINA
    )
    context.add_init_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    page = context.new_page()
    page.goto(f"/admin/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{next_path}")
    return page


def create_order(cashier: Page, amount: str, description: str) -> str:
    """Create the order on the cashier page (its one POS is picked already); return its uid."""
    cashier.goto("/cashier/")
    cashier.fill("#id_amount", amount)
    cashier.fill("#id_description", description)
    cashier.click("#cashier-form input[type=submit]")
    cashier.wait_for_url("**/cashier/?order=*")
    (uid,) = parse_qs(urlsplit(cashier.url).query)["order"]
    return uid


def qr_data_on(display: Page) -> str:
    """The QR on the display, read from a screenshot as the buyer's phone would read it."""
    image = Image.open(BytesIO(display.screenshot()))
    (qr_data,) = {
        barcode.text
        for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    }
    return qr_data


def pay(browser: Browser, base_url: str, qr_data: str) -> None:
    """The buyer pays ``qr_data`` in the sandbox wallet."""
    wallet = browser.new_context(base_url=base_url).new_page()
    wallet.goto("/sandbox/wallet/")
    wallet.fill("#qr_data", qr_data)
    wallet.click("button[type=submit]")
    wallet.locator(".receipt, [role=status]").first.wait_for()
    wallet.context.close()


def refund_part(owner: Page, description: str, amount: str) -> None:
    """The owner opens the order found by its description and refunds ``amount`` of it."""
    owner.goto(f"/admin/orders/order/?{urlencode({'q': description})}")
    owner.click("#result_list tbody tr th a")
    owner.click("#order-refund")
    owner.fill("#id_amount", amount)
    owner.click("input.default")
    owner.click("#refund-confirm")
    owner.locator(".messagelist").wait_for()


if __name__ == "__main__":
    main()
