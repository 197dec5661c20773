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
// A backup chosen on the Backup and restore page travels in the form as base64 (forms here are
// URL-encoded), read from the file before the form is sent.
(function () {
  "use strict";
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-upload")) return;
    var hidden = form.querySelector('input[name="upload"]');
    if (hidden.value) return;
    var file = form.querySelector("input[data-upload-file]").files[0];
    if (!file) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    // htmx never sees this submit, so its confirmation is asked here.
    var question = form.getAttribute("hx-confirm");
    if (question && !window.confirm(question)) return;
    var reader = new FileReader();
    reader.onload = function () {
      hidden.value = String(reader.result).replace(/^data:[^,]*,/, "");
      form.submit();
    };
    reader.readAsDataURL(file);
  }, true);
})();
