// The cashier page's order: it polls the order's status (status.json) while the buyer may pay,
// announces each change (the status line is an aria-live region), swaps the QR for the final
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

  async function poll() {
    if (!OPEN.includes(status.dataset.status)) return;
    try {
      const answer = await fetch(section.dataset.statusUrl, {cache: "no-store"});
      if (answer.ok) {
        const body = await answer.json();
        if (body.status !== status.dataset.status) {
          status.dataset.status = body.status;
          status.textContent = body.status_display;
          if (FINAL[body.status]) showFinal(FINAL[body.status]);
          if (body.status === "processed" && sound?.checked) chime();
        }
      }
    } catch (error) { /* the next poll tries again */ }
    setTimeout(poll, pollMs);
  }
  const pollMs = Number(section.dataset.pollMs) || 1000;  // as the display's, orders/display.py
  setTimeout(poll, pollMs);

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
