// tracehound HTML report: optional behaviour only (the page reads the same without it).
// 1. Sortable tables: click a heading; numbers sort by their data-v value.
// 2. Each SVG's drawn size is written into data-bbox (the browser tests read it).
(function () {
  function key(td) {
    var v = td.getAttribute('data-v');
    return v === null ? td.textContent.trim() : parseFloat(v);
  }
  document.querySelectorAll('table.sortable').forEach(function (t) {
    t.querySelectorAll('th').forEach(function (th, i) {
      th.addEventListener('click', function () {
        var asc = th.getAttribute('aria-sort') !== 'ascending';
        t.querySelectorAll('th').forEach(function (o) { o.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var body = t.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[i]), y = key(b.cells[i]);
          var c = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  document.querySelectorAll('svg').forEach(function (s) {
    var b = s.getBBox();
    s.setAttribute('data-bbox', Math.round(b.width) + 'x' + Math.round(b.height));
  });
  document.body.setAttribute('data-ready', '1');
})();
