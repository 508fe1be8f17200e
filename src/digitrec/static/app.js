// digitrec's drawing page. Pointer events draw (mouse, pen and touch alike); the drawing is sent
// as a PNG while drawing (at most 5 times a second, and always once more when a stroke ends); an
// uploaded picture replaces the drawing and is shown with a box and the answer on each digit found.
// Only the settled answer is announced to screen readers (#announce), not every update.
"use strict";

const pad = document.getElementById("pad");
const context = pad.getContext("2d");
const multiBox = document.getElementById("multi");
const penInput = document.getElementById("pen");
const preview = document.getElementById("preview");
const boxes = document.getElementById("boxes");
const HEIGHT = 280; // the canvas's own pixels are 280 high; the pen is given in these units
const SINGLE_WIDTH = 280;
const MULTI_WIDTH = 700; // multi-digit mode: room for a number of several digits
const MIN_INTERVAL = 200; // ms between requests while drawing: at most 5 a second
const strokes = []; // each stroke: {points: [[x, y], ...], width}
let current = null;
let mode = "draw"; // "draw" or "picture"
let uploaded = null; // the picture file shown in picture mode
let inFlight = false;
let pending = false;
let wantFinal = false;
let timer = null;
let lastSent = 0;
let generation = 0; // bumped when the input is cleared or replaced: answers to older input are dropped

function resetCanvas() {
  context.fillStyle = "#fff";
  context.fillRect(0, 0, pad.width, pad.height);
}

function drawStroke(stroke) {
  const points = stroke.points;
  context.strokeStyle = "#000";
  context.fillStyle = "#000";
  context.lineWidth = stroke.width;
  context.lineCap = "round";
  context.lineJoin = "round";
  context.beginPath();
  if (points.length === 1) {
    context.arc(points[0][0], points[0][1], stroke.width / 2, 0, 2 * Math.PI);
    context.fill();
    return;
  }
  context.moveTo(points[0][0], points[0][1]);
  for (const [x, y] of points.slice(1)) context.lineTo(x, y);
  context.stroke();
}

function redraw() {
  resetCanvas();
  for (const stroke of strokes) drawStroke(stroke);
  document.getElementById("save").disabled = mode !== "draw" || strokes.length === 0;
}

function fitCanvas() {
  const width = multiBox.checked ? MULTI_WIDTH : SINGLE_WIDTH;
  if (pad.width !== width) {
    pad.width = width;
    pad.height = HEIGHT;
    pad.classList.toggle("wide", multiBox.checked);
  }
  redraw();
}

function position(event) {
  const box = pad.getBoundingClientRect();
  return [((event.clientX - box.left) * pad.width) / box.width, ((event.clientY - box.top) * pad.height) / box.height];
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  current = { points: [position(event)], width: Number(penInput.value) * (pad.height / HEIGHT) };
  strokes.push(current);
  redraw();
});

pad.addEventListener("pointermove", (event) => {
  if (!current) return;
  event.preventDefault();
  current.points.push(position(event));
  redraw();
  requestAnswer(false);
});

function endStroke(event) {
  if (!current) return;
  event.preventDefault();
  current = null;
  requestAnswer(true);
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function undo() {
  if (mode !== "draw" || !strokes.length) return;
  strokes.pop();
  redraw();
  if (strokes.length) return requestAnswer(true);
  generation += 1; // nothing left: an answer still on its way is for a drawing that is gone
  showEmpty();
}

function clearAll() {
  generation += 1;
  strokes.length = 0;
  showDrawing();
  showEmpty();
}

document.getElementById("undo").addEventListener("click", undo);
document.getElementById("clear").addEventListener("click", clearAll);
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
    event.preventDefault();
    undo();
  } else if (event.key === "Delete") {
    event.preventDefault();
    clearAll();
  }
});

document.getElementById("save").addEventListener("click", () => {
  const link = document.createElement("a");
  link.href = pad.toDataURL("image/png");
  link.download = "digitrec-drawing.png";
  link.click();
});

multiBox.addEventListener("change", () => {
  // the same input, read again the other way
  if (mode === "picture") return sendPicture();
  fitCanvas();
  if (strokes.length) requestAnswer(true);
});

// --- a picture instead of the drawing -----------------------------------------------------------

function showDrawing() {
  mode = "draw";
  uploaded = null;
  document.getElementById("picture").hidden = true;
  pad.hidden = false;
  fitCanvas();
}

function showPicture(file) {
  generation += 1;
  mode = "picture";
  uploaded = file;
  strokes.length = 0;
  pad.hidden = true;
  document.getElementById("picture").hidden = false;
  preview.hidden = false;
  preview.src = URL.createObjectURL(file);
  clearBoxes();
  redraw();
}

preview.addEventListener("error", () => {
  preview.hidden = true; // not a picture the browser can show: no broken-image icon
});

document.getElementById("upload").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (!file) return;
  showPicture(file);
  sendPicture();
  event.target.value = "";
});

function sendPicture() {
  if (!uploaded) return;
  const form = new FormData();
  form.append("file", uploaded);
  form.append("multi", multiBox.checked ? "true" : "false");
  setStatus("Reading the picture…", "none");
  send(() => fetch("/api/predict", { method: "POST", body: form }), true);
}

function clearBoxes() {
  boxes.width = 1;
  boxes.height = 1;
}

function drawBoxes(answer) {
  if (mode !== "picture" || !preview.naturalWidth) return;
  boxes.width = preview.naturalWidth;
  boxes.height = preview.naturalHeight;
  const draw = boxes.getContext("2d");
  const line = Math.max(2, Math.round(Math.max(boxes.width, boxes.height) / 200));
  draw.font = `bold ${8 * line}px system-ui, sans-serif`;
  draw.textBaseline = "bottom";
  for (const item of answer.per_digit || []) {
    if (!item.box) continue;
    const [left, top, right, bottom] = item.box;
    const colour = item.uncertain ? "#b35c00" : "#0f7a3d";
    draw.strokeStyle = colour;
    draw.lineWidth = line;
    draw.strokeRect(left, top, right - left, bottom - top);
    const label = `${item.digit} ${(100 * item.confidence).toFixed(0)} %`;
    const width = draw.measureText(label).width + 2 * line;
    const y = Math.max(top, 9 * line);
    draw.fillStyle = colour;
    draw.fillRect(left, y - 9 * line, width, 9 * line);
    draw.fillStyle = "#fff";
    draw.fillText(label, left + line, y - line / 2);
  }
}

// --- requests -----------------------------------------------------------------------------------

// The drawing goes out 112 px high: four times the 28x28 the model sees is all the detail the
// preprocessing uses, and a sixth of the canvas's pixels halves the server's work.
const SEND_HEIGHT = 112;
const small = document.createElement("canvas");

function sendable() {
  small.height = SEND_HEIGHT;
  small.width = Math.round((SEND_HEIGHT * pad.width) / pad.height);
  const smallContext = small.getContext("2d");
  smallContext.imageSmoothingEnabled = true;
  smallContext.imageSmoothingQuality = "high";
  smallContext.drawImage(pad, 0, 0, small.width, small.height);
  return small;
}

// At most one request out and at most 5 a second; the latest drawing wins; a stroke's end is
// always answered (`final`), and only a final answer is announced.
function requestAnswer(final) {
  if (mode !== "draw" || !strokes.length) return;
  wantFinal = wantFinal || final;
  if (inFlight) {
    pending = true;
    return;
  }
  const wait = MIN_INTERVAL - (performance.now() - lastSent);
  if (wait > 0) {
    if (!timer) timer = setTimeout(() => { timer = null; requestAnswer(false); }, wait);
    return;
  }
  const isFinal = wantFinal;
  wantFinal = false;
  const body = JSON.stringify({ image: sendable().toDataURL("image/png"), multi: multiBox.checked });
  send(() => fetch("/api/predict", { method: "POST", headers: { "Content-Type": "application/json" }, body }), isFinal);
}

async function send(makeRequest, isFinal) {
  inFlight = true;
  lastSent = performance.now();
  const sentFor = generation;
  try {
    const response = await makeRequest();
    let answer;
    try {
      answer = await response.json();
    } catch (problem) {
      answer = { error: `error ${response.status}` };
    }
    if (generation !== sentFor) return; // cleared or replaced while it was out
    if (!response.ok) showError(answer.error || `error ${response.status}`);
    else showAnswer(answer);
    if (isFinal && !pending && !wantFinal) announce(response.ok ? spoken(answer) : `Error: ${answer.error}`);
  } catch (problem) {
    showError(`no answer from the server (${problem.message || problem})`);
  } finally {
    inFlight = false;
    if (pending) {
      pending = false;
      requestAnswer(false);
    }
  }
}

// --- the answer ---------------------------------------------------------------------------------

function announce(text) {
  document.getElementById("announce").textContent = text;
}

function spoken(answer) {
  if (!answer.digits) return answer.reason || "No digit found";
  if (answer.uncertain && answer.reason === "not a digit") return "Not a digit";
  if (answer.uncertain && answer.reason.startsWith("several digits")) return "Several digits found: switch to multi-digit mode";
  const sure = `${(100 * answer.confidence).toFixed(0)} percent`;
  return answer.uncertain ? `Perhaps ${answer.digits}, ${sure}; uncertain: ${answer.reason}` : `${answer.digits}, ${sure}`;
}

function setStatus(text, kind) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = "status" + (kind ? " " + kind : "");
}

function clearAnswer(digit) {
  document.getElementById("digit").textContent = digit;
  document.getElementById("digit").classList.remove("long");
  document.getElementById("confidence").textContent = "";
  renderBars([]);
  document.getElementById("seen").replaceChildren();
}

function showEmpty() {
  pending = false; // nothing left to ask about
  wantFinal = false;
  if (timer) {
    clearTimeout(timer);
    timer = null;
  }
  clearAnswer("?");
  setStatus("Draw a digit to start.", "none");
  announce("");
}

function showError(message) {
  clearAnswer("–"); // an error replaces the old answer: nothing stale stays on screen
  setStatus(message.charAt(0).toUpperCase() + message.slice(1), "error");
  clearBoxes();
}

function showAnswer(answer) {
  const digit = document.getElementById("digit");
  if (!answer.digits) {
    clearAnswer("–");
    const reason = answer.reason || "no digit found"; // e.g. "not a digit (only lines or a frame)"
    setStatus(reason.charAt(0).toUpperCase() + reason.slice(1), "none");
    clearBoxes();
    return;
  }
  // "not a digit" and "several digits" are answers of their own: no digit, no bars to misread
  const notDigit = answer.uncertain && answer.reason === "not a digit";
  const several = answer.uncertain && answer.reason.startsWith("several digits");
  digit.textContent = notDigit || several ? "–" : answer.digits;
  digit.classList.toggle("long", digit.textContent.length > 3);
  if (several) setStatus("Several digits found: switch to multi-digit mode", "uncertain");
  else if (notDigit) setStatus("Not a digit", "uncertain");
  else if (answer.uncertain) setStatus(`Uncertain: ${answer.reason}`, "uncertain");
  else setStatus(answer.per_digit.length > 1 ? `Read ${answer.per_digit.length} digits` : "Recognised", "");
  const candidates = answer.per_digit[0].candidates.map(([d, p]) => `${d} ${(100 * p).toFixed(0)} %`).join(", ");
  document.getElementById("confidence").textContent =
    `confidence ${(100 * answer.confidence).toFixed(1)} %` + (answer.uncertain && answer.per_digit.length === 1 ? ` · top: ${candidates}` : "") +
    ` · ${(1000 * answer.seconds).toFixed(1)} ms`;
  renderBars(notDigit || several ? [] : answer.per_digit);
  renderSeen(answer.per_digit);
  drawBoxes(answer);
}

function barRows(probabilities) {
  const group = document.createElement("div");
  const top = probabilities.indexOf(Math.max(...probabilities));
  probabilities.forEach((p, d) => {
    const row = document.createElement("div");
    row.className = "bar" + (d === top ? " top" : "");
    row.dataset.digit = d;
    row.innerHTML = `<span>${d}</span><div class="track"><div class="fill" style="width:${(100 * p).toFixed(1)}%"></div></div><span class="value">${(100 * p).toFixed(1)} %</span>`;
    group.appendChild(row);
  });
  return group;
}

// One set of ten bars per digit read: a single digit gets the full-width set, a number a small set each.
function renderBars(digits) {
  const bars = document.getElementById("bars");
  bars.replaceChildren();
  bars.classList.toggle("several", digits.length > 1);
  digits.forEach((item, index) => {
    const group = barRows(item.probabilities);
    group.className = "digit-bars";
    if (digits.length > 1) {
      const title = document.createElement("h3");
      title.textContent = `digit ${index + 1}: ${item.digit}`;
      group.prepend(title);
    }
    bars.appendChild(group);
  });
}

function renderSeen(digits) {
  const seen = document.getElementById("seen");
  seen.replaceChildren();
  for (const item of digits) {
    const figure = document.createElement("figure");
    const canvas = document.createElement("canvas");
    canvas.width = 28;
    canvas.height = 28;
    const image = canvas.getContext("2d").createImageData(28, 28);
    item.pixels.forEach((value, i) => {
      image.data.set([value, value, value, 255], 4 * i);
    });
    canvas.getContext("2d").putImageData(image, 0, 0);
    const caption = document.createElement("figcaption");
    caption.textContent = `${item.digit} · ${(100 * item.confidence).toFixed(0)} %`;
    figure.append(canvas, caption);
    seen.appendChild(figure);
  }
}

fetch("/api/model")
  .then((response) => response.json())
  .then((card) => {
    const accuracy = card.mnist_test_accuracy ? ` · ${(100 * card.mnist_test_accuracy).toFixed(2)} % on the MNIST test set` : "";
    document.getElementById("model").textContent = `model: ${card.name}${accuracy}`;
  })
  .catch(() => {});

fitCanvas();
