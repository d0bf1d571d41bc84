// ipywidgets 8 typesets widget labels with MathJax 2's API, MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]);
// the book loads MathJax 3, which has no Hub. This maps that one call onto MathJax 3's typesetPromise.
// Loaded deferred right after MathJax (on the pages that have formulas), before the widgets are drawn.
if (window.MathJax && !window.MathJax.Hub) {
  window.MathJax.Hub = {
    Queue: (command) => window.MathJax.startup.promise.then(() => window.MathJax.typesetPromise([command[2]])),
  };
}
