// The customer display (templates/display/page.html, orders/display.py). It listens to the
// display's events (the state, pushed on each change: orders/live.py); where that stream cannot
// open (no live server, no Redis) it polls state.json at the interval the page's <main> names,
// and tries the stream again a minute later. When the order, its state or its status changes, it
// fetches screen.html (the page's <main>) and swaps it in (a reload would leave full screen) and
// announces the new state. A streaming page asks state.json only when the screen changes by
// itself (an order's expiry, the end of a final state). It also counts down, shows the clock
// when idle, offers full screen where the browser has it and hides the pointer when it rests.
(function () {
  "use strict";
  const announcement = document.getElementById("announcement");
  const clockFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    hour: "2-digit",
    minute: "2-digit",
  });
  const STREAM_RETRY_MS = 60000;
  const eventsUrl = document.body.dataset.eventsUrl;
  let screen;
  let deadline;
  let changesAt;  // when the screen changes by itself, with no event (0: never)
  let stream = null;  // the open stream; while there is one, no polling
  let timer;
  let updating = Promise.resolve();  // one swap at a time, in order

  function show(main) {
    screen = main;
    deadline = Date.now() + Number(main.dataset.secondsLeft) * 1000;
    const changesIn = Number(main.dataset.changesIn) || 0;
    changesAt = changesIn ? Date.now() + changesIn * 1000 : 0;
    tick();
  }

  function tick() {
    const countdown = document.getElementById("countdown");
    if (countdown) {
      const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      const minutes = Math.floor(left / 60);
      const seconds = left % 60;
      countdown.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
    }
    const clock = document.getElementById("clock");
    if (clock) clock.textContent = clockFormat.format(new Date());
  }

  function changed(current) {
    const order = current.order || {};
    return (
      (order.uid || "") !== screen.dataset.uid ||
      current.state !== screen.dataset.state ||
      (order.status || "") !== screen.dataset.status
    );
  }

  async function swap() {
    const response = await fetch("screen.html", {cache: "no-store"});
    if (!response.ok) return;
    const fragment = document.createElement("template");
    fragment.innerHTML = await response.text();
    const next = document.importNode(fragment.content.querySelector("main"), true);
    screen.replaceWith(next);
    show(next);
    announcement.textContent = Array.from(next.querySelectorAll("[data-announce]"))
      .map((element) => element.textContent.trim())
      .join(". ");
  }

  function update(current) {
    updating = updating.then(() => (changed(current) ? swap() : null)).catch(() => null);
    return updating;
  }

  // One request at a time, so that an answer never overtakes a newer one.
  async function poll() {
    try {
      const response = await fetch("state.json", {cache: "no-store"});
      if (response.ok) await update(await response.json());
    } catch (error) {
      // Offline for a moment: the next poll tries again.
    }
    next();
  }

  // Polling: the next poll at the screen's interval. Streaming: none until the screen changes by
  // itself, then at the screen's interval until it has.
  function next() {
    clearTimeout(timer);
    const interval = Number(screen.dataset.pollMs) || 1000;
    if (!stream) {
      timer = setTimeout(poll, interval);
    } else if (changesAt) {
      timer = setTimeout(poll, Math.max(interval, changesAt - Date.now()));
    }
  }

  function listen() {
    const source = new EventSource(eventsUrl);
    stream = source;
    const fail = () => {
      source.close();
      stream = null;
      next();
      setTimeout(listen, STREAM_RETRY_MS);
    };
    source.onmessage = (event) => update(JSON.parse(event.data)).then(next);
    source.addEventListener("unavailable", fail);
    // A dropped stream reconnects by itself (CONNECTING); a refused one (204, 502) is CLOSED.
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) fail();
    };
  }

  function offerFullScreen() {
    const button = document.getElementById("fullscreen");
    if (!document.fullscreenEnabled) return;
    const update = () => { button.hidden = document.fullscreenElement !== null; };
    button.addEventListener("click", () => {
      document.documentElement.requestFullscreen().catch(update);
    });
    document.addEventListener("fullscreenchange", update);
    update();
  }

  function hidePointerAtRest() {
    let timer;
    const wake = () => {
      document.body.classList.remove("pointer-hidden");
      clearTimeout(timer);
      timer = setTimeout(() => document.body.classList.add("pointer-hidden"), 3000);
    };
    document.addEventListener("pointermove", wake);
    wake();
  }

  show(document.querySelector("main"));
  setInterval(tick, 1000);
  if (eventsUrl && window.EventSource) listen();
  next();
  offerFullScreen();
  hidePointerAtRest();
})();
