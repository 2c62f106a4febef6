// The lesson panel's own words in English and Simplified Chinese, and the reader's language
// (remembered per browser). The lessons' texts come from the server in the chosen language;
// these are only the panel's labels. The rest of the UI is English for now (issue 9, item 5).

export const LANGS = [
  { code: "en", label: "English" },
  { code: "zh-Hans", label: "简体中文" },
];
const KEY = "clusterscope.lessonLang";

const WORDS = {
  en: {
    lesson: "Lesson",
    startLesson: "Start a lesson",
    pickerTitle: "Start a lesson",
    pickerLede: "Each lesson starts its own cluster, then runs step by step as you press Next: narration, a question for the class, the simulation, and checks that say what happened.",
    loading: "Loading the lessons…",
    start: (t) => `Start “${t}”`,
    startShort: "▶ Start",
    starting: "Starting…",
    steps: (n) => `${n} steps`,
    minutes: (n) => `${n} min`,
    clusters: (n) => `${n} clusters side by side`,
    level: { beginner: "beginner", intermediate: "intermediate", advanced: "advanced" },
    language: "Language of the lesson",
    presenter: "presenter",
    audience: "audience: follows the presenter",
    stepOf: (i, n) => `Step ${i} of ${n}`,
    progress: "Steps",
    stepState: { passed: "passed", failed: "failed", current: "now", todo: "to come", running: "running" },
    nextUp: "Next step",
    running: "Running this step…",
    runningHint: "The simulation is playing the step; its checks follow when its waits hold.",
    runStep: "Next ▶ run this step",
    waitPresenter: "The presenter runs the next step; this panel follows.",
    justDone: (i, t) => `Step ${i} done: ${t}`,
    passed: "✓ passed",
    failed: "✕ failed",
    lookAt: "Look at:",
    question: "Predict before it runs",
    yourPrediction: "Your prediction",
    noPrediction: "No prediction was made.",
    right: "✓ right",
    wrong: "✕ not this time",
    answerWas: "The answer:",
    classAnswer: "The class answered:",
    checks: "Checks",
    checkPassed: "✓ passed:",
    checkFailed: "✕ failed:",
    whatHappened: "What the simulation just did",
    errors: "Refused actions",
    complete: (p, n) => `Lesson complete: ${p} of ${n} steps passed.`,
    restart: "↺ Back to the start",
    restartTitle: "Start this lesson again on a fresh cluster",
    otherLessons: "Other lessons…",
    audienceLink: "Audience link",
    audienceLinkTitle: "The address students open to follow this lesson (read-only narration)",
    copied: "Audience link copied",
    compared: "Compared clusters:",
    abandoned: "This lesson run was stopped:",
    gone: "This lesson run is no longer known to the server (it restarted?).",
    glossary: "Glossary",
    announceStep: (i, t) => `Step ${i}: ${t}`,
    announceDone: (i, ok) => `Step ${i} ${ok ? "passed" : "failed"}`,
    here: "◉ this step",
  },
  "zh-Hans": {
    lesson: "课程",
    startLesson: "开始一节课",
    pickerTitle: "开始一节课",
    pickerLede: "每节课会启动自己的集群，然后随着你按“下一步”逐步进行：讲解、给全班的问题、模拟运行，以及说明发生了什么的检查。",
    loading: "正在加载课程…",
    start: (t) => `开始“${t}”`,
    startShort: "▶ 开始",
    starting: "正在开始…",
    steps: (n) => `${n} 步`,
    minutes: (n) => `${n} 分钟`,
    clusters: (n) => `${n} 个集群并排`,
    level: { beginner: "入门", intermediate: "中级", advanced: "高级" },
    language: "课程语言",
    presenter: "讲解者",
    audience: "听众：跟随讲解者",
    stepOf: (i, n) => `第 ${i} 步，共 ${n} 步`,
    progress: "步骤",
    stepState: { passed: "通过", failed: "失败", current: "当前", todo: "未开始", running: "进行中" },
    nextUp: "下一步",
    running: "正在运行这一步…",
    runningHint: "模拟正在执行这一步；等待条件满足后会给出检查结果。",
    runStep: "下一步 ▶ 运行这一步",
    waitPresenter: "由讲解者运行下一步；本面板自动跟随。",
    justDone: (i, t) => `第 ${i} 步完成：${t}`,
    passed: "✓ 通过",
    failed: "✕ 失败",
    lookAt: "请看：",
    question: "运行前先预测",
    yourPrediction: "你的预测",
    noPrediction: "没有做出预测。",
    right: "✓ 答对了",
    wrong: "✕ 这次没猜中",
    answerWas: "答案：",
    classAnswer: "全班的回答：",
    checks: "检查",
    checkPassed: "✓ 通过：",
    checkFailed: "✕ 失败：",
    whatHappened: "模拟刚刚做了什么",
    errors: "被拒绝的操作",
    complete: (p, n) => `课程结束：${n} 步中 ${p} 步通过。`,
    restart: "↺ 回到开头",
    restartTitle: "在新的集群上重新开始这节课",
    otherLessons: "其他课程…",
    audienceLink: "听众链接",
    audienceLinkTitle: "学生打开这个地址即可跟随本课（只读讲解）",
    copied: "已复制听众链接",
    compared: "对比的集群：",
    abandoned: "本次课程运行已停止：",
    gone: "服务器已不再记得这次课程运行（可能重启过）。",
    glossary: "术语表",
    announceStep: (i, t) => `第 ${i} 步：${t}`,
    announceDone: (i, ok) => `第 ${i} 步${ok ? "通过" : "失败"}`,
    here: "◉ 本步",
  },
};

/** The reader's language: remembered, else the browser's, else English. */
export function lessonLang() {
  const linked = document.documentElement.dataset.kioskLang; // a kiosk link's ?lang= (js/kiosk.js)
  if (LANGS.some((l) => l.code === linked)) return linked;
  let stored = null;
  try {
    stored = localStorage.getItem(KEY);
  } catch {
    // storage may be disabled: fall back to the browser's language
  }
  if (LANGS.some((l) => l.code === stored)) return stored;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh-Hans" : "en";
}

export function setLessonLang(code) {
  try {
    localStorage.setItem(KEY, code);
  } catch {
    // the choice lasts for this page only
  }
  document.dispatchEvent(new CustomEvent("clusterscope:lesson-lang", { detail: { lang: code } }));
}

export function words(lang) {
  return WORDS[lang] ?? WORDS.en;
}

/** A text given in every language ({en, "zh-Hans"}) in the reader's. */
export function pick(texts, lang) {
  if (texts == null) return "";
  if (typeof texts === "string") return texts;
  return texts[lang] ?? texts.en ?? "";
}

/** The language switch: two buttons, aria-pressed on the current one. */
export function languageSwitch(lang, label) {
  const group = document.createElement("div");
  group.className = "lesson-lang";
  group.setAttribute("role", "group");
  group.setAttribute("aria-label", label);
  for (const { code, label: name } of LANGS) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn-small";
    b.dataset.lang = code;
    b.lang = code;
    b.textContent = name;
    b.setAttribute("aria-pressed", String(code === lang));
    b.addEventListener("click", () => setLessonLang(code));
    group.appendChild(b);
  }
  return group;
}
