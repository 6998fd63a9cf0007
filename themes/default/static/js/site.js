/* Storefront default theme: optional progressive enhancement only.
   Every page works without this file. */
(function () {
  "use strict";

  function enhanceFlashes() {
    var items = document.querySelectorAll(".flashes .flash");
    Array.prototype.forEach.call(items, function (item) {
      if (item.querySelector(".flash-close")) return;

      var text = document.createElement("span");
      text.className = "flash-text";
      while (item.firstChild) text.appendChild(item.firstChild);
      item.appendChild(text);

      var button = document.createElement("button");
      button.type = "button";
      button.className = "flash-close";
      button.setAttribute("aria-label", "Dismiss message");
      button.textContent = "\u00d7";
      button.addEventListener("click", function () {
        var list = item.parentNode;
        var next = item.nextElementSibling || item.previousElementSibling;
        list.removeChild(item);
        if (!list.children.length) {
          var wrap = list.closest(".flashes-wrap") || list;
          wrap.parentNode.removeChild(wrap);
          var main = document.getElementById("content");
          if (main) main.focus();
        } else if (next) {
          var btn = next.querySelector(".flash-close");
          if (btn) btn.focus();
        }
      });
      item.appendChild(button);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enhanceFlashes);
  } else {
    enhanceFlashes();
  }
})();
