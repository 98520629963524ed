// OHO's pages work without this script. It only moves the keyboard focus
// where a person expects it after a refused form: to the summary of the
// problems when the page opens, and to a field when its problem's link in
// the summary is followed (a link to a field scrolls to it but does not
// focus it).
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.querySelector(".error-summary");
  if (!summary) {
    return;
  }
  summary.focus();
  for (const link of summary.querySelectorAll("a[href^='#']")) {
    link.addEventListener("click", (event) => {
      const field = document.getElementById(link.getAttribute("href").slice(1));
      if (field) {
        event.preventDefault();
        field.focus();
        field.scrollIntoView({ block: "center" });
      }
    });
  }
});
