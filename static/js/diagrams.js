/* Draws the workflow diagrams: every <pre class="mermaid"> holds Mermaid source made from the
 * rules in force (workflows/diagrams.py); the vendored Mermaid (static/vendor/) turns it into an
 * SVG in place. Without scripts the source stays readable as text. */
(function () {
  "use strict";

  function draw() {
    if (!window.mermaid) {
      return;
    }
    // At their natural size the labels stay readable; a wide diagram scrolls in its frame.
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral",
                                state: { useMaxWidth: false } });
    window.mermaid.run({ querySelector: "pre.mermaid" }).catch(function (error) {
      console.error("ButlerDesk: a workflow diagram could not be drawn", error);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
