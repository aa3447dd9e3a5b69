// The cashier page's order: it listens to the order's events (its status, pushed on each change:
// orders/live.py) while the buyer may pay, or, where that stream cannot open, polls status.json
// (and tries the stream again a minute later); it announces each change (the status line is an aria-live region), swaps the QR for the final
// state once there is one, chimes on payment if the cashier turned the sound on (remembered in
// this browser), and asks before cancelling (a modal <dialog>; without script the server asks).
(function () {
  "use strict";
  const SOUND_KEY = "cashier.sound";
  const OPEN = ["pending", "created"];
  const FINAL = {processed: "paid", refunded: "refunded", expired: "expired",
                 canceled: "canceled", failed: "failed"};
  const RECEIPTS = ["paid", "refunded"];

  const sound = document.getElementById("cashier-sound");
  let audio = null;

  function audioContext() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) audio = new Context();
    return audio;
  }

  function chime() {
    const context = audioContext();
    if (!context) return;
    if (context.state === "suspended") context.resume();
    [880, 1320].forEach((frequency, index) => {
      const start = context.currentTime + index * 0.18;
      const tone = context.createOscillator();
      const volume = context.createGain();
      tone.frequency.value = frequency;
      volume.gain.setValueAtTime(0.2, start);
      volume.gain.exponentialRampToValueAtTime(0.001, start + 0.25);
      tone.connect(volume).connect(context.destination);
      tone.start(start);
      tone.stop(start + 0.25);
    });
  }

  if (sound) {
    sound.checked = localStorage.getItem(SOUND_KEY) === "on";
    sound.addEventListener("change", () => {
      localStorage.setItem(SOUND_KEY, sound.checked ? "on" : "off");
      if (sound.checked) audioContext()?.resume();  // a click lets the page play sound later
    });
    // Browsers play sound only after the person touched the page: wake the context then.
    document.addEventListener("pointerdown", () => sound.checked && audioContext()?.resume());
  }

  const section = document.getElementById("cashier-order");
  if (!section) return;
  const status = document.getElementById("order-status");
  const openPart = document.getElementById("order-open");
  const finalPart = document.getElementById("order-final");

  function showFinal(state) {
    openPart.hidden = true;
    finalPart.dataset.state = state;
    document.getElementById("order-final-state").textContent =
      section.dataset["final" + state[0].toUpperCase() + state.slice(1)];
    document.getElementById("print-receipt").hidden = !RECEIPTS.includes(state);
    finalPart.hidden = false;
    document.getElementById("cancel-dialog")?.close();
    document.getElementById("new-order").focus();
  }

  function update(body) {
    if (body.status === status.dataset.status) return;
    status.dataset.status = body.status;
    status.textContent = body.status_display;
    if (FINAL[body.status]) showFinal(FINAL[body.status]);
    if (body.status === "processed" && sound?.checked) chime();
  }

  let stream = null;  // the open stream; while there is one, no polling
  async function poll() {
    if (stream || !OPEN.includes(status.dataset.status)) return;
    try {
      const answer = await fetch(section.dataset.statusUrl, {cache: "no-store"});
      if (answer.ok) update(await answer.json());
    } catch (error) { /* the next poll tries again */ }
    setTimeout(poll, pollMs);
  }
  const pollMs = Number(section.dataset.pollMs) || 1000;  // as the display's, orders/display.py

  function listen() {
    if (!OPEN.includes(status.dataset.status)) return;
    const source = new EventSource(section.dataset.eventsUrl);
    stream = source;
    const fail = () => {
      source.close();
      stream = null;
      poll();
      setTimeout(listen, 60000);
    };
    source.onmessage = (event) => {
      update(JSON.parse(event.data));
      if (!OPEN.includes(status.dataset.status)) source.close();
    };
    source.addEventListener("unavailable", fail);
    // A dropped stream reconnects by itself (CONNECTING); a refused one (204, 502) is CLOSED.
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) fail();
    };
  }
  if (section.dataset.eventsUrl && window.EventSource) listen();
  else setTimeout(poll, pollMs);

  const dialog = document.getElementById("cancel-dialog");
  const ask = document.getElementById("cancel-ask");
  if (dialog && ask && dialog.showModal) {
    ask.addEventListener("click", (event) => {
      event.preventDefault();
      if (dialog.open) dialog.close();  // opened by the server's confirmation step
      dialog.showModal();
    });
    document.getElementById("cancel-keep").addEventListener("click", (event) => {
      event.preventDefault();
      dialog.close();
      ask.focus();
    });
  }
})();
