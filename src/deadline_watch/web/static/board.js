// Filter-as-you-type: hides table rows not containing the typed text (the form still
// submits a server-side search on Enter, so the page works without this script).
document.querySelectorAll("input[data-filter-rows]").forEach(function (input) {
  var table = document.getElementById(input.getAttribute("data-filter-rows"));
  if (!table) { return; }
  input.addEventListener("input", function () {
    var needle = input.value.trim().toLowerCase();
    table.querySelectorAll("tbody tr").forEach(function (row) {
      row.hidden = needle !== "" && row.textContent.toLowerCase().indexOf(needle) === -1;
    });
  });
});

// 打印移交单: a button rather than an inline handler (the CSP allows no inline script).
document.querySelectorAll("button[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
