// The receipt's print button (no inline handlers under the Content-Security-Policy).
document.getElementById("receipt-print")?.addEventListener("click", () => window.print());
