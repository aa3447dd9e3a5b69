// The cashier page's amount, shown large and formatted as it is typed. It reads the entry by the
// rules of merchant_platform/money.py (parse_typed_amount), whose symbols the input carries as
// data-* attributes; the server parses it again and has the last word.
(function () {
  "use strict";
  const input = document.getElementById("id_amount");
  const preview = document.getElementById("amount-preview");
  if (!input || !preview) return;
  const {decimal, group, currency, symbols} = input.dataset;
  const places = Number(input.dataset.places);
  const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const shape = new RegExp(
    `^(\\d{1,3}(?:${escape(group)}\\d{3})+|\\d+)(?:${escape(decimal)}(\\d+))?$`
  );

  function parse(text) {
    let entry = text.trim();
    for (const symbol of symbols.split(" ")) {
      if (entry.toUpperCase().startsWith(symbol.toUpperCase())) {
        entry = entry.slice(symbol.length).trim();
        break;
      }
    }
    const match = shape.exec(entry);
    if (!match || (match[2] || "").length > places) return null;
    const whole = match[1].split(group).join("").replace(/^0+(?=\d)/, "");
    const fraction = (match[2] || "").padEnd(places, "0");
    if (/^0+$/.test(whole + fraction)) return null;
    return {whole, fraction};
  }

  function show() {
    const entry = input.value.trim();
    const amount = entry ? parse(entry) : null;
    const grouped = amount && amount.whole.replace(/\B(?=(\d{3})+$)/g, group);
    preview.dataset.state = entry ? (amount ? "valid" : "invalid") : "empty";
    preview.textContent = !entry ? "" : !amount ? preview.dataset.invalid
      : `${currency}\u00a0${grouped}${places ? decimal + amount.fraction : ""}`;
  }

  input.addEventListener("input", show);
  show();
})();
