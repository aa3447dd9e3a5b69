"""The customer display in a real browser (Debian's headless Chromium) served by the live server
as ``deploy/live.sh`` serves it (uvicorn, ASGI): an order created on its POS, then paid, shows
up by the push alone, and the page never polls ``state.json`` meanwhile."""

import socket
import threading
import time

import pytest
import uvicorn
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

from orders import transitions
from orders.models import Status
from orders.transitions import OrderState
from tenants.scope import tenant_scope
from tests.browser import chromium  # noqa: F401 (fixture)
from tests.factories import make_order, make_pos, make_tenant
from tests.orders.test_live_status import CREATED, needs_redis

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_redis]

# Counts the events the page's stream brings, so that the test knows it is listening.
COUNT_EVENTS = """
window.streamEvents = 0;
const PageEventSource = window.EventSource;
window.EventSource = function (...args) {
  const source = new PageEventSource(...args);
  source.addEventListener("message", () => { window.streamEvents += 1; });
  return source;
};
window.EventSource.CLOSED = PageEventSource.CLOSED;
"""


@pytest.fixture
def live_server_url():
    """The ASGI application (and the static files) under uvicorn, in a thread, on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    application = ASGIStaticFilesHandler(get_asgi_application())
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off", log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _apply(order, state: OrderState):
    with tenant_scope(order.tenant):
        return transitions.apply(order, state)  # its commit publishes the change


def test_an_order_and_its_payment_reach_the_display_by_the_push_alone(
    chromium,  # noqa: F811
    live_server_url,
):
    tenant = make_tenant("Parrilla", site="MLA")
    pos = make_pos(tenant)
    context = chromium.new_context(base_url=live_server_url)
    context.add_init_script(COUNT_EVENTS)
    page = context.new_page()
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"/display/{pos.display_token}/")
    waited = 0
    while not page.evaluate("window.streamEvents"):  # the stream's first state: it listens
        assert waited < 500, "the display's stream never opened"  # a guard, not a timing
        page.wait_for_timeout(20)
        waited += 1

    order = make_order(tenant, pos)
    order = _apply(order, CREATED)
    page.locator(f"main[data-uid='{order.uid}'][data-state=open] #qr svg").wait_for()
    _apply(order, OrderState(status=Status.PROCESSED))
    page.locator("#paid").wait_for(state="visible")
    context.close()

    assert not [url for url in asked if url.endswith("state.json")]
    assert any(url.endswith(f"/display/{pos.display_token}/events") for url in asked)
