// The week grid of business hours: a day ticked "Closed" has its times disabled (not sent), so
// it is saved closed. Without this script the form still works: the server refuses a day that
// is ticked closed and has hours.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-business-hours-day]").forEach(function (day) {
    var closed = day.querySelector("[data-business-hours-closed]");
    var times = day.querySelectorAll("input[type=time]");
    function update() {
      times.forEach(function (input) { input.disabled = closed.checked; });
    }
    closed.addEventListener("change", function () {
      update();
      if (!closed.checked) times[0].focus();
    });
    update();
  });
});
