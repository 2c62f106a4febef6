// The member menu: click a member (or focus it and press Enter or Space) for what a teacher
// does to it. A small ARIA menu: arrow keys, Home/End move, Escape or Tab closes and gives the
// focus back to the member, a click elsewhere closes it.
//
//   const menu = createMemberMenu({ onAction: (action, name) => ... });
//   menu.open(card, items)   items: [{action, label, hint, disabled}]

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

import { gettext, interpolate } from "../../i18n.js";

export function createMemberMenu({ onAction }) {
  const root = el("div", "etcd-menu card");
  root.setAttribute("role", "menu");
  root.hidden = true;
  document.body.appendChild(root);
  let anchor = null;
  let name = null;

  function items() {
    return [...root.querySelectorAll("[role=menuitem]")];
  }

  function focusItem(index) {
    const list = items();
    if (!list.length) return;
    list[(index + list.length) % list.length].focus();
  }

  function close({ restoreFocus = true } = {}) {
    if (root.hidden) return;
    root.hidden = true;
    anchor?.setAttribute("aria-expanded", "false");
    if (restoreFocus && anchor?.isConnected) anchor.focus();
    anchor = null;
    name = null;
  }

  function place() {
    if (!anchor) return;
    const r = anchor.getBoundingClientRect();
    const w = root.offsetWidth;
    const h = root.offsetHeight;
    let left = Math.min(window.innerWidth - w - 8, Math.max(8, r.left + r.width / 2 - w / 2));
    let top = r.bottom + 6;
    if (top + h > window.innerHeight - 8) top = Math.max(8, r.top - h - 6);
    root.style.left = `${Math.round(left)}px`;
    root.style.top = `${Math.round(top)}px`;
  }

  root.addEventListener("keydown", (e) => {
    const list = items();
    const at = list.indexOf(document.activeElement);
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        focusItem(at + 1);
        break;
      case "ArrowUp":
        e.preventDefault();
        focusItem(at - 1);
        break;
      case "Home":
        e.preventDefault();
        focusItem(0);
        break;
      case "End":
        e.preventDefault();
        focusItem(list.length - 1);
        break;
      case "Escape":
        e.preventDefault();
        close();
        break;
      case "Tab":
        close({ restoreFocus: false });
        break;
      default:
        // Space and Enter activate the focused item (a button); stop the page's shortcuts
        if (e.key === " " || e.key === "Enter" || e.key.length === 1) e.stopPropagation();
        break;
    }
  });

  root.addEventListener("click", (e) => {
    const item = e.target.closest("[role=menuitem]");
    if (!item || item.getAttribute("aria-disabled") === "true") return;
    const target = name;
    const action = item.dataset.action;
    close();
    onAction(action, target);
  });

  document.addEventListener(
    "pointerdown",
    (e) => {
      if (!root.hidden && !root.contains(e.target) && !(anchor && anchor.contains(e.target))) close({ restoreFocus: false });
    },
    true,
  );
  window.addEventListener("resize", () => close({ restoreFocus: false }));

  return {
    get openFor() {
      return root.hidden ? null : name;
    },
    close,
    /** Open (or, for the same member, close) the menu under `card`. */
    toggle(card, memberName, title, entries) {
      if (!root.hidden && name === memberName) {
        close();
        return;
      }
      close({ restoreFocus: false });
      anchor = card;
      name = memberName;
      root.setAttribute("aria-label", interpolate(gettext("%(name)s actions"), { name: memberName }));
      const head = el("div", "etcd-menu-title", title);
      head.setAttribute("aria-hidden", "true");
      const buttons = entries.map((entry) => {
        const b = el("button", "etcd-menu-item");
        b.type = "button";
        b.setAttribute("role", "menuitem");
        b.dataset.action = entry.action;
        if (entry.danger) b.classList.add("danger");
        if (entry.disabled) b.setAttribute("aria-disabled", "true");
        b.append(el("span", "etcd-menu-label", entry.label));
        if (entry.hint) b.append(el("span", "etcd-menu-hint", entry.hint));
        return b;
      });
      root.replaceChildren(head, ...buttons);
      root.hidden = false;
      card.setAttribute("aria-expanded", "true");
      place();
      const firstEnabled = buttons.findIndex((b) => b.getAttribute("aria-disabled") !== "true");
      focusItem(Math.max(0, firstEnabled)); // an ARIA menu takes the focus when it opens
    },
    /** Keep the menu under its member while the layout moves. */
    follow() {
      if (!root.hidden) place();
    },
  };
}
