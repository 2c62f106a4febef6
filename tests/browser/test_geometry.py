"""render/geometry.js on the live cluster page: boxes are those measured at the frame's start
(a write later in the frame does not move them until the next frame, so reading never forces a
layout), a box is measured on the spot the first time it is asked for, and writes that wait for a
laid-out page (restartAnimation, nextFrame) happen at the next frame."""

import pytest

from .helpers import wait_connected

pytestmark = pytest.mark.browser

FRAME = "() => new Promise((done) => requestAnimationFrame(() => done()))"

PROBE = """async () => {
  const g = await import('/static/js/render/geometry.js');
  const frame = () => new Promise((done) => requestAnimationFrame(() => done()));
  const stage = document.getElementById('stage');
  const div = document.createElement('div');
  div.style.cssText = 'position:absolute; left:10px; top:20px; width:100px; height:30px';
  stage.append(div);
  const first = g.box(div).width;          // never asked for: measured now
  div.style.width = '250px';
  const sameFrame = g.box(div).width;      // as of this frame's start: not laid out again
  const inStage = g.boxIn(stage, div);
  await frame(); await frame();            // main.js's frame measures it again first
  const later = g.box(div).width;
  // restartAnimation: off now, on at the next frame
  div.classList.add('flash');
  g.restartAnimation(div, 'flash');
  const offNow = !div.classList.contains('flash');
  let ran = false;
  g.nextFrame(() => { ran = true; });
  const notYet = !ran;
  await frame(); await frame();
  const onLater = div.classList.contains('flash');
  div.remove();
  return { first, sameFrame, later, offNow, onLater, notYet, ran, left: inStage.left, top: inStage.top, hidden: g.box(document.createElement('p')) };
}"""


def test_boxes_come_from_the_frame_start_and_late_writes_wait(open_page):
    page = open_page("/clusters/demo/")
    wait_connected(page, 60_000)
    page.evaluate(FRAME)
    got = page.evaluate(PROBE)
    assert got["first"] == 100
    assert got["sameFrame"] == 100  # the write in this frame shows at the next one
    assert got["later"] == 250
    assert (round(got["left"]), round(got["top"])) == (10, 20)  # stage coordinates: its content's origin
    assert got["offNow"] and got["onLater"]
    assert got["notYet"] and got["ran"]
    assert got["hidden"] is None  # not in the document: no box
    assert page.problems == []
