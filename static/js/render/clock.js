// The clock bar: pause/play, single step, the logarithmic speed slider, "advance N s", and
// the virtual time. It draws from the model every animation frame and turns input into
// intents (callbacks); the server's clock frames are the only source of truth, so a click
// shows its effect when the server confirms it (within a frame).

import { gettext, interpolate } from "../i18n.js";
import { formatSpeed } from "../theme.js";

export const MIN_SPEED = 0.01;
export const MAX_SPEED = 100;
/** The speeds "+" and "-" walk through. */
export const SPEED_STEPS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100];

/** Slider position (log10 of the speed, -2..2) to a speed with two significant digits. */
export function sliderToSpeed(value) {
  const speed = 10 ** Math.min(2, Math.max(-2, Number(value)));
  return Math.min(MAX_SPEED, Math.max(MIN_SPEED, Number(speed.toPrecision(2))));
}

export function nextSpeed(current, direction) {
  if (direction > 0) return SPEED_STEPS.find((s) => s > current * 1.0001) ?? MAX_SPEED;
  return [...SPEED_STEPS].reverse().find((s) => s < current * 0.9999) ?? MIN_SPEED;
}

export function createClockView({ onTogglePause, onStep, onSpeed, onAdvance }) {
  const $ = (id) => document.getElementById(id);
  const play = $("btn-play");
  const playText = $("btn-play-text");
  const step = $("btn-step");
  const time = $("clock-number");
  const state = $("clock-state");
  const slider = $("speed");
  const speedOut = $("speed-value");
  const advanceForm = $("advance-form");
  const advanceInput = $("advance-seconds");
  const advanceButton = $("btn-advance");

  let shownTime = "";
  let shown = "";
  let interactingUntil = 0; // while the user moves the slider, frames don't move it back
  let sendTimer = null;
  let lastSent = null;

  play.addEventListener("click", () => onTogglePause());
  step.addEventListener("click", () => onStep());
  advanceForm.addEventListener("submit", (e) => {
    e.preventDefault();
    onAdvance(Number(advanceInput.value));
  });

  function showSpeed(speed) {
    const text = formatSpeed(speed);
    speedOut.textContent = text;
    slider.setAttribute("aria-valuetext", interpolate(gettext("%(speed)s speed"), { speed: text }));
  }
  function sendSpeed(speed, immediately) {
    clearTimeout(sendTimer);
    const go = () => {
      if (speed !== lastSent) {
        lastSent = speed;
        onSpeed(speed);
      }
    };
    if (immediately) go();
    else sendTimer = setTimeout(go, 150);
  }
  slider.addEventListener("input", () => {
    interactingUntil = performance.now() + 1500;
    const speed = sliderToSpeed(slider.value);
    showSpeed(speed);
    sendSpeed(speed, false);
  });
  slider.addEventListener("change", () => {
    interactingUntil = performance.now() + 1500;
    sendSpeed(sliderToSpeed(slider.value), true);
  });

  return {
    /** The speed the user asked for last (the slider), which the server may not have confirmed yet. */
    requestedSpeed() {
      return sliderToSpeed(slider.value);
    },
    /** Move the slider to a speed and send it (keyboard "+" / "-"). */
    setSpeed(speed) {
      interactingUntil = performance.now() + 1500;
      slider.value = String(Math.log10(speed));
      showSpeed(speed);
      sendSpeed(speed, true);
    },
    update(model, t, now, live) {
      const text = (Number(t) || 0).toFixed(3);
      if (text !== shownTime) {
        shownTime = text;
        time.textContent = text;
      }
      const c = model.clock;
      const key = [c.paused, c.speed, c.lagging, live, model.hasSnapshot].join();
      if (key !== shown) {
        shown = key;
        const paused = c.paused;
        play.dataset.paused = String(paused);
        playText.textContent = paused ? gettext("Play") : gettext("Pause");
        play.setAttribute("aria-label", paused ? gettext("Play: resume the clock") : gettext("Pause the clock"));
        play.disabled = !live;
        step.disabled = !live || !paused;
        advanceButton.disabled = !live || !paused;
        state.className = "time-state" + (!live ? " offline" : paused ? " paused" : c.lagging ? " lagging" : "");
        const speed = formatSpeed(c.speed);
        state.textContent = !model.hasSnapshot ? gettext("waiting") : !live ? gettext("no connection") : paused ? gettext("paused") : c.lagging ? interpolate(gettext("lagging at %(speed)s"), { speed }) : interpolate(gettext("running at %(speed)s"), { speed });
        state.title = c.lagging ? gettext("The server cannot simulate this fast: virtual time is falling behind the chosen speed") : "";
      }
      if (now > interactingUntil) {
        const value = Math.log10(c.speed);
        if (Math.abs(Number(slider.value) - value) > 1e-6) slider.value = String(value);
        if (speedOut.textContent !== formatSpeed(c.speed)) showSpeed(c.speed);
        lastSent = null;
      }
    },
  };
}
