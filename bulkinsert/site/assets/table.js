// Sort any table.sortable by clicking its header; filter #functions by #filter; open a
// <details> when its #anchor is followed. Plain DOM, no library needed for this much.
(function () {
  function cellValue(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell) return numeric ? -Infinity : "";
    var raw = cell.getAttribute("data-v");
    if (raw === null) raw = cell.textContent;
    if (!numeric) return raw.trim().toLowerCase();
    var n = parseFloat(String(raw).replace(/[^0-9eE.+-]/g, ""));
    return isNaN(n) ? -Infinity : n;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (th, index) {
      th.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "num";
        var descending = th.getAttribute("data-sort") !== "desc";
        table.querySelectorAll("thead th").forEach(function (o) { o.removeAttribute("data-sort"); });
        th.setAttribute("data-sort", descending ? "desc" : "asc");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
          var c = x < y ? -1 : x > y ? 1 : 0;
          return descending ? -c : c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  var filter = document.getElementById("filter");
  var functions = document.getElementById("functions");
  if (filter && functions) {
    filter.addEventListener("input", function () {
      var q = filter.value.toLowerCase();
      Array.prototype.forEach.call(functions.tBodies[0].rows, function (r) {
        r.style.display = r.textContent.toLowerCase().indexOf(q) >= 0 ? "" : "none";
      });
    });
  }
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (el && el.tagName === "DETAILS") { el.open = true; el.scrollIntoView(); }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
