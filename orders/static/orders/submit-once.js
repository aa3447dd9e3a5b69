// A form marked data-submit-once is sent once: the second click of an impatient double click
// (or a click while the answer is on its way) sends nothing more.
document.querySelectorAll("form[data-submit-once]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "yes";
    form.setAttribute("aria-busy", "true");
  });
});
