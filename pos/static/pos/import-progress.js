// The CSV import's status page: shows how far the import is (polling its progress.json) and
// reloads the page, with its report, when the import ends. Without this script the page's
// "Refresh" link does the same.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("import-progress-box");
  if (!box) return;
  var bar = document.getElementById("import-progress");
  var status = document.getElementById("import-status");
  function poll() {
    fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (progress) {
        if (progress.finished) {
          window.location.reload();
          return;
        }
        if (progress.total > 0) {
          bar.max = progress.total;
          bar.value = progress.done;
        }
        if (status.textContent !== progress.message) status.textContent = progress.message;
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
});
