// causeway web interface: the little that plain HTML and htmx do not do. Everything works
// without it; it only adds "select all" to lists.
(function () {
  "use strict";
  document.addEventListener("change", function (ev) {
    var box = ev.target;
    if (!(box instanceof HTMLInputElement)) return;
    var name = box.getAttribute("data-select-all");
    if (!name) return;
    var boxes = document.querySelectorAll('input[type=checkbox][name="' + name + '"]');
    for (var i = 0; i < boxes.length; i++) boxes[i].checked = box.checked;
  });
})();
