// Runs before the first paint (a classic script in <head>, not a module) so the page
// never flashes the wrong theme: a stored choice wins, else the system preference.
(function () {
  var theme = null;
  try {
    // a kiosk link's ?theme= (js/kiosk.js) wins over the stored choice, and is not stored
    theme = new URLSearchParams(location.search).get("theme") || localStorage.getItem("clusterscope.theme");
  } catch (e) {
    theme = null;
  }
  if (theme !== "light" && theme !== "dark") {
    theme = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  document.documentElement.setAttribute("data-theme", theme);
})();
