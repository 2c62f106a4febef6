// The connection indicator: connected / reconnecting… / disconnected, announced politely.

import { gettext } from "../i18n.js";

const TEXT = { connecting: gettext("connecting…"), connected: gettext("connected"), reconnecting: gettext("reconnecting…"), disconnected: gettext("disconnected") };

export function createConnectionView({ root, text, detail }) {
  return {
    show({ state, detail: more }) {
      root.dataset.state = state;
      const label = TEXT[state] ?? state;
      if (text.textContent !== label) text.textContent = label;
      // the detail ("retrying in 2 s") is for screen readers and the tooltip: the pill keeps
      // its width, so the bar never reflows while the connection flaps
      const extra = more ? `, ${more}` : "";
      if (detail.textContent !== extra) detail.textContent = extra;
      root.title = more ? `${label} (${more})` : label;
    },
  };
}
