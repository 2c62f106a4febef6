"""Lessons in a real browser: the picker on the cluster list starts a live run and opens its
cluster as the presenter; the narration panel steps through it with Next (narration, the
components marked on the diagram, a prediction revealed, checks passed in words, the account
of what the simulation did); a second page on the same cluster follows read-only (the audience
view); the language switch changes the lesson's words and is remembered."""

import re

import pytest

from .helpers import screenshots, wait_for

pytestmark = pytest.mark.browser

LESSON = "controllers-reconcile"
SPEED = 20  # the teaching profile at 20x: a step of the lesson takes a second or two of wall time


def marked(page) -> list[str]:
    """The components marked on the diagram, each with its label."""
    return page.eval_on_selector_all(
        ".lesson-highlight", "els => els.map(e => e.dataset.component + ' ' + (e.querySelector(':scope > .lesson-here')?.textContent ?? 'NO LABEL'))"
    )


def run_step(server, page, cluster: str, run: str, index: int):
    """Next, clicked while the clock is paused; the clock runs only while the step plays (a page
    following a cluster at 20x on the loaded test machine can be too busy to take a click)."""
    page.locator(".lesson-next").click()
    wait_for(lambda: len(server.api("GET", f"/api/scenarios/{LESSON}/runs/{run}")[1]["steps"]) > index
             or server.api("GET", f"/api/scenarios/{LESSON}/runs/{run}")[1]["state"] == "running", message="the step to start")
    server.api("PATCH", f"/api/clusters/{cluster}/clock", {"paused": False})
    done = page.locator(f".lesson-done[data-step='{index}']")
    done.wait_for(timeout=60_000)
    server.api("PATCH", f"/api/clusters/{cluster}/clock", {"paused": True})
    return done


def test_a_lesson_from_the_picker_stepped_by_the_presenter_and_followed_by_the_audience(server, open_page, artifacts):
    presenter = open_page("/")
    card = presenter.locator(f"li[data-lesson={LESSON}]")
    card.wait_for()
    assert card.locator(".lesson-item-title").inner_text() == "Controllers: desired state, reconciled"
    assert re.search(r"BEGINNER.*8 min.*5 steps", card.locator(".lesson-item-meta").inner_text(), re.S | re.I)
    screenshots(presenter, artifacts, "lesson-picker")

    card.locator(".lesson-start").click()
    presenter.wait_for_url(re.compile(rf"/clusters/{LESSON}-\d+/\?lesson={LESSON}&run=\d+$"))
    cluster = presenter.url.split("/clusters/")[1].split("/")[0]
    run = presenter.url.rsplit("=", 1)[1]
    status, summary = server.api("PATCH", f"/api/clusters/{cluster}/clock", {"speed": SPEED})
    assert status == 200 and summary["paused"] is True  # a live run waits at time 0 for the first Next

    # Step 1 of 5, about to run: its narration, its components marked (outline and label), Next.
    now = presenter.locator(".lesson-now[data-step='0']")
    now.wait_for()
    assert presenter.locator(".lesson-role").inner_text() == "presenter"
    assert now.locator(".lesson-step-title").inner_text() == "A Deployment of three"
    assert "Nobody tells the scheduler or the kubelets anything" in now.locator(".lesson-narration").inner_text()
    wait_for(lambda: sorted(marked(presenter)) == ["kube-apiserver ◉ this step", "kube-controller-manager ◉ this step"], page=presenter,
             message="the step's components marked")
    outline = presenter.eval_on_selector("[data-component=kube-apiserver]", "e => getComputedStyle(e).outlineStyle")
    assert outline == "dashed"
    assert presenter.locator(".lesson-dot").evaluate_all("els => els.map(e => e.dataset.state)") == ["current", "todo", "todo", "todo", "todo"]

    # The glossary: a term's definition on keyboard focus, described for screen readers.
    term = now.locator(".lesson-term[data-term=etcd]")
    term.focus()
    tip = presenter.locator("#" + term.get_attribute("aria-describedby"))
    assert tip.is_visible() and tip.get_attribute("role") == "tooltip"
    assert tip.inner_text().startswith("etcd: the key-value store")

    # The audience: a second browser on the plain cluster address follows the same run, read-only.
    audience = open_page(f"/clusters/{cluster}/", color_scheme="dark")
    audience.locator(".lesson-now[data-step='0']").wait_for()
    assert audience.locator(".lesson-role").inner_text() == "audience: follows the presenter"
    assert audience.locator(".lesson-next").count() == 0
    assert audience.locator(".lesson-follow").inner_text() == "The presenter runs the next step; this panel follows."

    # Next: the step runs; its checks pass (in words and glyphs) and the account says what happened.
    done = run_step(server, presenter, cluster, run, 0)
    assert done.locator(".lesson-step-title").inner_text().startswith("✓ passed Step 1 done: A Deployment of three")
    checks = done.locator(".lesson-checks li")
    assert checks.count() == 3
    assert checks.evaluate_all("els => els.map(e => e.dataset.passed)") == ["true", "true", "true"]
    assert all(t.startswith("✓ passed:") for t in checks.all_inner_texts())
    account = done.locator(".lesson-account").inner_text()
    assert re.search(r"etcd-\d became the etcd leader in term \d", account)
    assert "The ReplicaSet controller created 3 pods for default/web-" in account
    assert re.search(r"The scheduler bound web-\S+ to node-\d", account)

    # Step 2: the marks move to its component; a prediction before Next, revealed after.
    now = presenter.locator(".lesson-now[data-step='1']")
    assert now.locator(".lesson-step-title").inner_text() == "Delete a pod"
    wait_for(lambda: marked(presenter) == ["kube-controller-manager ◉ this step"], page=presenter, message="the marks of step 2")
    audience.locator(".lesson-now[data-step='1']").wait_for()
    assert audience.locator(".lesson-dot").evaluate_all("els => els.map(e => e.dataset.state)") == ["passed", "current", "todo", "todo", "todo"]
    now.locator("label.lesson-choice").nth(1).click()
    assert now.locator("input[name=lesson-choice-1][value='1']").is_checked()
    screenshots(presenter, artifacts, "lesson-presenter")
    done = run_step(server, presenter, cluster, run, 1)
    prediction = done.locator(".lesson-prediction")
    assert prediction.get_attribute("data-correct") == "true"
    assert prediction.inner_text() == "Your prediction: The ReplicaSet controller creates a new pod to get back to three ✓ right"
    assert "it is level-based, not edge-based" in done.locator(".lesson-explain").inner_text()
    assert done.locator(".lesson-checks li[data-passed=false]").count() == 0
    assert "The ReplicaSet controller created 1 pod" in done.locator(".lesson-account").inner_text()

    # The audience sees the same step done, the class's answer, and the same next step.
    done_there = audience.locator(".lesson-done[data-step='1']")
    done_there.wait_for(timeout=10_000)
    assert "The class answered: The ReplicaSet controller creates a new pod" in done_there.inner_text()
    assert audience.locator(".lesson-now[data-step='2'] .lesson-step-title").inner_text() == "Scale to five"
    screenshots(audience, artifacts, "lesson-audience")

    # Chinese for this reader (the header's language switch: the whole page, the lesson's words
    # and the panel's labels), remembered on reload.
    with audience.expect_navigation():
        audience.select_option("#lang-select", "zh-hans")
    audience.locator(".lesson-now[data-step='2'] .lesson-step-title:text('扩容到五个')").wait_for()
    assert audience.locator(".lesson-role").inner_text() == "听众：跟随讲解者"
    assert audience.locator(".lesson-done .lesson-step-title").inner_text().startswith("✓ 通过 第 2 步完成：删除一个 Pod")
    assert "ReplicaSet 控制器为" in audience.locator(".lesson-done .lesson-account").inner_text()
    assert audience.evaluate("localStorage.getItem('clusterscope.lang')") == "zh-Hans"
    audience.reload()
    audience.locator(".lesson-now[data-step='2'] .lesson-step-title:text('扩容到五个')").wait_for()
    assert presenter.locator(".lesson-now[data-step='2'] .lesson-step-title").inner_text() == "Scale to five"  # the presenter's page keeps English

    report = server.api("GET", f"/api/scenarios/{LESSON}/runs/{run}")[1]
    assert [s["passed"] for s in report["steps"]] == [True, True] and report["steps"][1]["choice"] == 1

    # Back to the start: a new run of the lesson on a fresh cluster, at its first step.
    presenter.locator(".lesson-restart").click()
    presenter.wait_for_url(re.compile(rf"/clusters/{LESSON}-\d+/\?lesson={LESSON}&run=(?!{run}$)\d+$"))
    assert presenter.locator(".lesson-now[data-step='0'] .lesson-step-title").inner_text() == "A Deployment of three"
    server.api("DELETE", f"/api/clusters/{cluster}")
    server.api("DELETE", "/api/clusters/" + presenter.url.split("/clusters/")[1].split("/")[0])
    assert presenter.problems == [] and audience.problems == []


def test_a_cluster_without_a_lesson_has_no_panel_and_its_button_opens_the_picker(server, open_page):
    page = open_page("/clusters/demo/")
    assert page.locator("#lesson-panel").is_hidden()
    page.click("#btn-lesson")
    dialog = page.locator("#lesson-dialog")
    dialog.locator("li[data-lesson=node-failure] .lesson-start").wait_for()
    assert dialog.locator(".lesson-item").count() == len(server.api("GET", "/api/scenarios")[1]["items"])
    assert dialog.locator("li[data-lesson=node-failure] .lesson-start").get_attribute("aria-label") == "Start “A node fails: from lost heartbeats to replacement pods”"
    assert page.problems == []
