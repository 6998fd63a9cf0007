/* Storefront default theme: catalog page enhancements. Every page works without this file:
   the forms it submits have their own buttons, which it hides. */
(function () {
  "use strict";

  // A change of sort order or variant option reloads the page at once.
  function autosubmit() {
    var fields = document.querySelectorAll("[data-autosubmit]");
    Array.prototype.forEach.call(fields, function (field) {
      var form = field.form;
      if (!form) return;
      field.addEventListener("change", function () {
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll(".js-hidden"), function (element) {
      element.hidden = true;
    });
  }

  // On narrow screens the filter panel starts folded, so the products come first.
  function foldOnNarrowScreens() {
    if (!window.matchMedia("(max-width: 55.99em)").matches) return;
    Array.prototype.forEach.call(document.querySelectorAll("details[data-collapse-narrow]"), function (panel) {
      panel.open = false;
    });
  }

  function enhance() {
    autosubmit();
    foldOnNarrowScreens();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enhance);
  } else {
    enhance();
  }
})();
