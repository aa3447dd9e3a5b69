// The order admin: the tables of an order's inlines scroll sideways inside their box on narrow
// screens; a box that scrolls must be reachable by keyboard to be scrolled (WCAG 2.1.1).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const box of document.querySelectorAll(".inline-group .tabular fieldset.module")) {
    box.tabIndex = 0;
  }
});
