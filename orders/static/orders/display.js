// The customer display (templates/display/page.html, orders/display.py). It polls state.json at
// the interval the page's <main> names; when the order, its state or its status changes, it
// fetches screen.html (the page's <main>) and swaps it in (a reload would leave full screen) and
// announces the new state. It also counts down, shows the clock when idle, offers full screen
// where the browser has it and hides the pointer when it rests.
(function () {
  "use strict";
  const announcement = document.getElementById("announcement");
  const clockFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    hour: "2-digit",
    minute: "2-digit",
  });
  let screen;
  let deadline;

  function show(main) {
    screen = main;
    deadline = Date.now() + Number(main.dataset.secondsLeft) * 1000;
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

  // One request at a time, so that an answer never overtakes a newer one.
  async function poll() {
    try {
      const response = await fetch("state.json", {cache: "no-store"});
      if (response.ok && changed(await response.json())) await swap();
    } catch (error) {
      // Offline for a moment: the next poll tries again.
    }
    setTimeout(poll, Number(screen.dataset.pollMs) || 1000);
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
  setTimeout(poll, Number(screen.dataset.pollMs) || 1000);
  offerFullScreen();
  hidePointerAtRest();
})();
