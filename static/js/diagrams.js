/* Draws the workflow diagrams: every <pre class="mermaid"> holds Mermaid source made from the
 * rules in force (workflows/diagrams.py); the vendored Mermaid (static/vendor/) turns it into an
 * SVG in place. Without scripts the source stays readable as text.
 *
 * A kind's states drawn left to right make a strip two or three screens wide, so each is drawn
 * top to bottom. Then each diagram is shown at its natural size when it fits its card; scaled
 * down to the card's width when that keeps its labels readable (at least MIN_SCALE); else at its
 * natural size, scrolling sideways inside its card (never the page), with a hint saying so.
 */
(function () {
  "use strict";

  var MIN_SCALE = 0.7;

  function fit(figure) {
    var svg = figure.querySelector("svg");
    if (!svg) {
      return;
    }
    var natural = parseFloat(svg.getAttribute("width")) || svg.getBoundingClientRect().width;
    var room = figure.clientWidth - 16;  // the card's padding
    var scrolls = natural > room && room / natural < MIN_SCALE;
    figure.classList.toggle("fits", natural > room && !scrolls);
    figure.classList.toggle("scrolls", scrolls);
    // A frame that scrolls can be scrolled from the keyboard too.
    if (scrolls) {
      figure.setAttribute("tabindex", "0");
    } else {
      figure.removeAttribute("tabindex");
    }
  }

  function fitAll() {
    document.querySelectorAll("figure.diagram").forEach(fit);
  }

  function draw() {
    if (!window.mermaid) {
      return;
    }
    document.querySelectorAll("pre.mermaid").forEach(function (pre) {
      pre.textContent = pre.textContent.replace(/^(\s*direction) LR$/m, "$1 TB");
    });
    // At their natural size the labels stay readable; `fit` decides how each is shown.
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral",
                                state: { useMaxWidth: false } });
    window.mermaid.run({ querySelector: "pre.mermaid" }).then(function () {
      fitAll();
      window.addEventListener("resize", fitAll);
    }).catch(function (error) {
      console.error("ButlerDesk: a workflow diagram could not be drawn", error);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
