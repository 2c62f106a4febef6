// The components a lesson step names, marked on the diagram: a class on each box found by
// data-component (a thick dashed outline in the accent colour) AND a label on the box ("◉ this
// step"), so the mark never relies on colour alone. Boxes are found again on every call: a
// renderer may rebuild a box (components.js keeps unknown children, others may not).

const CLASS = "lesson-highlight";

export function createHighlighter() {
  let names = [];
  let label = "";

  function apply() {
    const wanted = new Set();
    for (const name of names) {
      for (const box of document.querySelectorAll(`[data-component="${CSS.escape(name)}"]`)) wanted.add(box);
    }
    for (const box of document.querySelectorAll(`.${CLASS}`)) {
      if (!wanted.has(box)) {
        box.classList.remove(CLASS);
        box.querySelector(":scope > .lesson-here")?.remove();
      }
    }
    for (const box of wanted) {
      box.classList.add(CLASS);
      let tag = box.querySelector(":scope > .lesson-here");
      if (!tag) {
        tag = document.createElement("span");
        tag.className = "lesson-here";
        tag.dataset.panel = "lesson";
        box.appendChild(tag);
      }
      if (tag.textContent !== label) tag.textContent = label;
    }
    return wanted.size;
  }

  return {
    /** names: components to mark; text: the label's words in the reader's language */
    set(nextNames, text) {
      names = [...nextNames];
      label = text;
      return apply();
    },
    apply,
  };
}
