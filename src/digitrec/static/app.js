// digitrec's drawing page: pointer events draw (mouse, pen and touch alike), the canvas is sent
// as a PNG while drawing, and the answer, the bars and the 28x28 the model saw are shown.
"use strict";

const pad = document.getElementById("pad");
const context = pad.getContext("2d");
const PEN_WIDTH = 18; // px on the 280x280 canvas: scaled to MNIST it is a typical stroke
const strokes = []; // each stroke: array of [x, y] in canvas pixels
let current = null;
let pending = false;
let inFlight = false;
let lastSent = 0;

function resetCanvas() {
  context.fillStyle = "#fff";
  context.fillRect(0, 0, pad.width, pad.height);
}

function drawStroke(points) {
  context.strokeStyle = "#000";
  context.fillStyle = "#000";
  context.lineWidth = PEN_WIDTH;
  context.lineCap = "round";
  context.lineJoin = "round";
  if (points.length === 1) {
    context.beginPath();
    context.arc(points[0][0], points[0][1], PEN_WIDTH / 2, 0, 2 * Math.PI);
    context.fill();
    return;
  }
  context.beginPath();
  context.moveTo(points[0][0], points[0][1]);
  for (const [x, y] of points.slice(1)) context.lineTo(x, y);
  context.stroke();
}

function redraw() {
  resetCanvas();
  for (const stroke of strokes) drawStroke(stroke);
}

function position(event) {
  const box = pad.getBoundingClientRect();
  return [((event.clientX - box.left) * pad.width) / box.width, ((event.clientY - box.top) * pad.height) / box.height];
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  current = [position(event)];
  strokes.push(current);
  document.getElementById("preview").hidden = true;
  redraw();
});

pad.addEventListener("pointermove", (event) => {
  if (!current) return;
  event.preventDefault();
  current.push(position(event));
  redraw();
  if (performance.now() - lastSent > 150) requestAnswer();
});

function endStroke(event) {
  if (!current) return;
  event.preventDefault();
  current = null;
  requestAnswer();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

document.getElementById("undo").addEventListener("click", () => {
  strokes.pop();
  redraw();
  strokes.length ? requestAnswer() : showEmpty();
});

document.getElementById("clear").addEventListener("click", () => {
  strokes.length = 0;
  redraw();
  showEmpty();
});

document.getElementById("multi").addEventListener("change", () => {
  if (strokes.length) requestAnswer();
});

document.getElementById("upload").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  const preview = document.getElementById("preview");
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
  const form = new FormData();
  form.append("file", file);
  form.append("multi", document.getElementById("multi").checked ? "true" : "false");
  setStatus("Reading the picture…", "none");
  await send(fetch("/api/predict", { method: "POST", body: form }));
  event.target.value = "";
});

// The drawing goes out at 112x112: four times the 28x28 the model sees is all the detail the
// preprocessing uses, and a sixth of the pixels of the 280x280 canvas halves the server's work.
const SEND_SIZE = 112;
const small = document.createElement("canvas");
small.width = SEND_SIZE;
small.height = SEND_SIZE;

function sendable() {
  const smallContext = small.getContext("2d");
  smallContext.imageSmoothingEnabled = true;
  smallContext.imageSmoothingQuality = "high";
  smallContext.drawImage(pad, 0, 0, SEND_SIZE, SEND_SIZE);
  return small;
}

// Latest wins: while one request is out, remember that the drawing changed and send once more.
function requestAnswer() {
  if (inFlight) {
    pending = true;
    return;
  }
  lastSent = performance.now();
  const body = JSON.stringify({ image: sendable().toDataURL("image/png"), multi: document.getElementById("multi").checked });
  send(fetch("/api/predict", { method: "POST", headers: { "Content-Type": "application/json" }, body }));
}

async function send(request) {
  inFlight = true;
  try {
    const response = await request;
    const answer = await response.json();
    if (!response.ok) setStatus(answer.error || `error ${response.status}`, "uncertain");
    else showAnswer(answer);
  } catch (problem) {
    setStatus(`no answer from the server (${problem})`, "uncertain");
  } finally {
    inFlight = false;
    if (pending) {
      pending = false;
      requestAnswer();
    }
  }
}

function setStatus(text, kind) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = "status" + (kind ? " " + kind : "");
}

function showEmpty() {
  document.getElementById("digit").textContent = "?";
  document.getElementById("confidence").textContent = "";
  setStatus("Draw a digit to start.", "none");
  renderBars(null);
  document.getElementById("seen").replaceChildren();
}

function showAnswer(answer) {
  const digit = document.getElementById("digit");
  if (!answer.digits) {
    digit.textContent = "–";
    const reason = answer.reason || "no digit found";  // e.g. "not a digit (only lines or a frame)"
    setStatus(reason.charAt(0).toUpperCase() + reason.slice(1), "none");
    document.getElementById("confidence").textContent = "";
    renderBars(null);
    document.getElementById("seen").replaceChildren();
    return;
  }
  digit.textContent = answer.digits;
  // "not a digit" and "several digits" are answers of their own: no digit, no bars to misread
  const noDigit = answer.uncertain && (answer.reason === "not a digit" || answer.reason.startsWith("several digits"));
  if (noDigit) digit.textContent = "–";
  if (answer.uncertain && answer.reason.startsWith("several digits")) setStatus("Several digits found: switch to multi-digit mode", "uncertain");
  else if (answer.uncertain && answer.reason === "not a digit") setStatus("Not a digit", "uncertain");
  else if (answer.uncertain) setStatus(`Uncertain: ${answer.reason}`, "uncertain");
  else setStatus(answer.per_digit.length > 1 ? `Read ${answer.per_digit.length} digits` : "Recognised", "");
  const candidates = answer.per_digit[0].candidates.map(([d, p]) => `${d} ${(100 * p).toFixed(0)} %`).join(", ");
  document.getElementById("confidence").textContent =
    `confidence ${(100 * answer.confidence).toFixed(1)} %` + (answer.uncertain ? ` · top: ${candidates}` : "") +
    ` · ${(1000 * answer.seconds).toFixed(1)} ms`;
  renderBars(answer.per_digit.length === 1 && !noDigit ? answer.per_digit[0].probabilities : null);
  renderSeen(answer.per_digit);
}

function renderBars(probabilities) {
  const bars = document.getElementById("bars");
  bars.replaceChildren();
  if (!probabilities) return;
  const top = probabilities.indexOf(Math.max(...probabilities));
  probabilities.forEach((p, d) => {
    const row = document.createElement("div");
    row.className = "bar" + (d === top ? " top" : "");
    row.dataset.digit = d;
    row.innerHTML = `<span>${d}</span><div class="track"><div class="fill" style="width:${(100 * p).toFixed(1)}%"></div></div><span class="value">${(100 * p).toFixed(1)} %</span>`;
    bars.appendChild(row);
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

resetCanvas();
