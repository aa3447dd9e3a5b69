"""Take the README's screenshots by walking the demo flow in Debian's headless Chromium.

Run ``make run`` in one terminal (fresh demo data), then in another:
``.venv/bin/python docs/screenshots/capture.py [--base-url http://127.0.0.1:8000]``.

As a cashier of the demo seller *Parrilla del Puerto* it creates a few orders on the cashier page;
the buyer pays some of them in the sandbox wallet (the QR is decoded from the display page's
screenshot, as a phone would read it) and one is canceled. It saves the customer display with an
open order, the display once that order is paid, and the owner's order admin and dashboard.
"""

import argparse
import shutil
import sys
from io import BytesIO
from pathlib import Path
from urllib.parse import urljoin

import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
from tests.browser import CHROMIUM_ARGS  # noqa: E402 (the browser tests' flags)

DISPLAY_VIEWPORT = {"width": 1280, "height": 800}  # a landscape tablet at the counter
PASSWORD = "demo-pass-123"  # noqa: S105 (the demo accounts' public password)
# (amount as an Argentine cashier types it, description, QR mode, API, what the buyer does)
ORDERS = [
    ("18.500,00", "Bife de chorizo y vino", "dynamic", "v1", "pay"),
    ("7.200,00", "Empanadas x6", "hybrid", "instore", "pay"),
    ("3.100,00", "Flan con dulce de leche", "dynamic", "v1", "cancel"),
    ("12.900,00", "Provoleta y ensalada", "dynamic", "instore", "pay"),
    ("24.350,00", "Parrillada para dos", "dynamic", "v1", "show"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    base_url = parser.parse_args().base_url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        cashier = signed_in(browser, base_url, "cashier.ar", "/cashier/")
        for amount, description, mode, api, outcome in ORDERS:
            display = create_order(cashier, amount, description, mode, api)
            if outcome == "show":
                display.screenshot(path=HERE / "display-open.png")
            if outcome in ("pay", "show"):
                pay(browser, base_url, qr_data_on(display))
                display.locator("#paid").wait_for(state="visible", timeout=15_000)
            else:
                cashier.click("#cancel-form input[type=submit]")
                display.locator("#canceled").wait_for(state="visible", timeout=15_000)
            if outcome == "show":
                display.screenshot(path=HERE / "display-paid.png")
            display.context.close()
        owner = signed_in(browser, base_url, "owner.ar", "/admin/orders/order/")
        owner.screenshot(path=HERE / "order-admin.png")
        owner.goto("/admin/dashboard/")
        owner.screenshot(path=HERE / "dashboard.png", full_page=True)
        browser.close()
    print(f"Screenshots written to {HERE}")


def signed_in(browser: Browser, base_url: str, username: str, next_path: str) -> Page:
    context = browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 860})
    context.add_init_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    page = context.new_page()
    page.goto(f"/admin/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{next_path}")
    return page


def create_order(cashier: Page, amount: str, description: str, mode: str, api: str) -> Page:
    """Create the order on the cashier page; return the POS's display page, showing it."""
    cashier.goto("/cashier/")
    cashier.fill("#id_amount", amount)
    cashier.fill("#id_description", description)
    cashier.select_option("#id_mode", mode)
    cashier.select_option("#id_api", api)
    cashier.click("#cashier-form input[type=submit]")
    cashier.wait_for_url("**/cashier/?order=*")
    display = cashier.context.browser.new_page(viewport=DISPLAY_VIEWPORT)
    display.goto(urljoin(cashier.url, cashier.get_attribute("a[href*='/display/']", "href")))
    display.locator("#qr svg").wait_for()
    return display


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


if __name__ == "__main__":
    main()
