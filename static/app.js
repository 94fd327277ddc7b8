// Small behaviours on top of htmx. Every page works without this file.
(function () {
  "use strict";

  function dialog() { return document.getElementById("dialog"); }
  function offline(show) {
    var banner = document.getElementById("offline");
    if (banner) banner.hidden = !show;
  }

  // Escape cancels an inline edit, restoring the row.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var form = event.target.closest && event.target.closest("form.inline-edit");
    if (!form) return;
    event.preventDefault();
    var cancel = form.querySelector("a.cancel");
    if (cancel) cancel.click();
  });

  // Clicks: close the dialog, print.
  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    if (closer && dialog() && dialog().open) {
      event.preventDefault();
      dialog().close();
      return;
    }
    if (event.target.closest("[data-print]")) {
      event.preventDefault();
      window.print();
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "dialog") {
      target.showModal();
      var cancel = target.querySelector(".cancel");
      if (cancel) cancel.focus();
    }
    if (target && target.classList && target.classList.contains("editing")) {
      var first = target.querySelector("[autofocus]") || target.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
    }
  });

  // A row that htmx replaces takes the keyboard focus with it: to the first
  // field of an inline form, back to the Edit link after Save, Cancel or
  // Escape, and to the star after toggling it.
  var refocus = null;
  document.addEventListener("htmx:beforeRequest", function () {
    var active = document.activeElement;
    var row = active && active.closest && active.closest("tr[id]");
    if (!row) { refocus = null; return; }
    refocus = { id: row.id, selector: active.classList.contains("star") ? ".star" : ".col-actions a" };
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!refocus) return;
    var row = document.getElementById(refocus.id);
    var selector = refocus.selector;
    refocus = null;
    if (!row || row.hidden) return;
    var target = row.classList.contains("editing")
      ? row.querySelector("[data-autofocus], [autofocus]") || row.querySelector("input:not([type=hidden]), select, textarea, button")
      : row.querySelector(selector);
    if (target) target.focus();
  });

  // Back and Forward restore htmx's copy of an earlier page, taken when the
  // URL changed, so its search field may hold a later search: set the
  // search form from the restored URL instead.
  document.addEventListener("htmx:historyRestore", function () {
    var params = new URLSearchParams(window.location.search);
    document.querySelectorAll("form[role=search] input[name]").forEach(function (input) {
      if (input.type === "checkbox") input.checked = params.get(input.name) === input.value;
      else if (input.type !== "hidden") input.value = params.get(input.name) || "";
    });
  });

  // After a change that alters the list (a delete), refresh the count and the rows.
  document.body.addEventListener("listChanged", refreshResults);
  function refreshResults() {
    if (!window.htmx || !document.getElementById("results")) return;
    window.htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#results", swap: "innerHTML" });
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt.closest && event.detail.elt.closest("#dialog form");
    if (form && dialog().open) form.dataset.pending = "1";
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) offline(false);
    var elt = event.detail.elt;
    if (elt && elt.closest && elt.closest("#dialog") && dialog().open && event.detail.successful) dialog().close();
  });

  document.addEventListener("htmx:sendError", function () { offline(true); });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var messages = document.getElementById("messages");
    if (!messages) return;
    var p = document.createElement("p");
    p.className = "message message-error";
    p.setAttribute("role", "alert");
    p.textContent = status === 401
      ? "Your session has ended. Log in again; what you typed is still in the form."
      : "The server could not do that (error " + status + "). Nothing was changed; please try again.";
    messages.replaceChildren(p);
  });

  // The server asks for a sign-in on an htmx request: go there.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status === 404 && event.detail.target && event.detail.target.id === "dialog") {
      event.detail.shouldSwap = false;
    }
  });

  dialog && document.addEventListener("DOMContentLoaded", function () {
    var d = dialog();
    if (d) d.addEventListener("close", function () { d.replaceChildren(); });
  });
})();
