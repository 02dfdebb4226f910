// liq_chart: candles + volume + liquidation heatmap (series primitive) + level lines, on lightweight-charts 5.
// Loaded by Streamlit components v2 as an ES module; the vendored standalone build runs first in the same
// module text and defines window.LightweightCharts.
/* global window, document, getComputedStyle, performance, DecompressionStream, Response, Blob, URL */

const LWC = window.LightweightCharts;
const charts = new WeakMap(); // parentElement -> ChartView

// ---- colour map --------------------------------------------------------------------------------------
// The ramp's anchors (dark to bright) come with every payload from liq._palette.HEATMAP_RAMP, the one
// colour scale of the chart and the still Altair picture; setRamp() rebuilds the table from them.
let RAMP = [
  [0.0, [0, 0, 0]],
  [1.0, [255, 255, 255]],
];

function hexToRgb(hex) {
  const n = parseInt(String(hex).replace("#", ""), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function rampColour(t) {
  const x = Math.min(1, Math.max(0, t));
  for (let i = 1; i < RAMP.length; i++) {
    const [t1, c1] = RAMP[i];
    if (x <= t1) {
      const [t0, c0] = RAMP[i - 1];
      const f = (x - t0) / (t1 - t0);
      return [0, 1, 2].map((k) => Math.round(c0[k] + (c1[k] - c0[k]) * f));
    }
  }
  return RAMP[RAMP.length - 1][1].slice();
}

// 256-entry RGBA table; low densities fade into the background instead of painting it purple.
function buildLut() {
  const lut = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    const [r, g, b] = rampColour(t);
    lut[i * 4] = r;
    lut[i * 4 + 1] = g;
    lut[i * 4 + 2] = b;
    lut[i * 4 + 3] = Math.round(255 * Math.min(1, 0.18 + 1.6 * t));
  }
  return lut;
}
let LUT = buildLut();
// Below this width (CSS px) the chart is laid out for a phone: short level labels, room right of the newest
// bar, a one-line footer.
const NARROW_PX = 560;

function setRamp(anchors) {
  RAMP = anchors.map(([t, hex]) => [Number(t), hexToRgb(hex)]);
  LUT = buildLut();
}

function cssGradient() {
  const stops = [];
  for (let i = 0; i <= 10; i++) {
    const [r, g, b] = rampColour(i / 10);
    stops.push(`rgb(${r},${g},${b}) ${i * 10}%`);
  }
  return `linear-gradient(90deg, ${stops.join(", ")})`;
}

// Side colours come with the payload (liq/_palette.py); these only stand in before the first payload.
const FALLBACK_SIDE_COLOURS = { long: "#f6465d", short: "#2d9cdb" };

// ---- formatting --------------------------------------------------------------------------------------
// Every level, price label and USD amount is text written by Python (liq/_format.py) and sent in the
// payload. The only numbers formatted here are the price axis and the price under the cursor, which follow
// the same rule as liq._format.format_price: the payload's decimals, comma thousands separators.
function fmtPrice(p, decimals) {
  return Number(p).toLocaleString("en-US", {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  });
}

function fmtTime(sec) {
  const d = new Date(sec * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`
  );
}

// Time-axis labels in UTC that always show the date: a day mark reads "22 Jan", a month "Jan 2026", a year
// "2026"; marks inside a day read "14:00" (the date is on the day mark before it and in the footer).
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
function tickLabel(time, tickMarkType) {
  const d = new Date(Number(time) * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  const T = LWC.TickMarkType;
  if (tickMarkType === T.Year) return String(d.getUTCFullYear());
  if (tickMarkType === T.Month) return `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  if (tickMarkType === T.DayOfMonth) return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

// ---- grid decoding -----------------------------------------------------------------------------------
function b64ToBytes(b64) {
  const bin = window.atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function decodeSide(b64, encoding) {
  const bytes = b64ToBytes(b64);
  if (encoding !== "zlib+base64") return bytes;
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// Decoded heatmap: uint8 codes per side (index col * rows + row, row 0 = lowest price) and the RGBA image
// (width = cols, height = rows, top row = highest price) that the primitive stretches over the axes.
async function decodeHeatmap(hm) {
  const [qLong, qShort] = await Promise.all([
    decodeSide(hm.long, hm.encoding),
    decodeSide(hm.short, hm.encoding),
  ]);
  const { cols, rows } = hm;
  const sL = hm.long_scale;
  const sS = hm.short_scale;
  const lo = hm.threshold_usd > 0 ? hm.threshold_usd : 0;
  const span = Math.max(hm.color_max_usd - lo, 1e-9);
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, cols);
  canvas.height = Math.max(1, rows);
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(canvas.width, canvas.height);
  const px = img.data;
  let painted = 0;
  for (let c = 0; c < cols; c++) {
    const base = c * rows;
    for (let r = 0; r < rows; r++) {
      const total = qLong[base + r] * sL + qShort[base + r] * sS;
      if (total <= 0) continue;
      const t = (total - lo) / span;
      const k = Math.max(0, Math.min(255, Math.round(t * 255))) * 4;
      const o = ((rows - 1 - r) * cols + c) * 4;
      px[o] = LUT[k];
      px[o + 1] = LUT[k + 1];
      px[o + 2] = LUT[k + 2];
      px[o + 3] = LUT[k + 3];
      painted++;
    }
  }
  ctx.putImageData(img, 0, 0);
  return { qLong, qShort, canvas, painted };
}

// ---- the heatmap series primitive ----------------------------------------------------------------------
class HeatmapRenderer {
  constructor(source) {
    this._source = source;
  }

  draw(target) {
    const src = this._source;
    const grid = src.grid;
    const chart = src.chart;
    const series = src.series;
    if (!grid || !chart || !series) return;
    const hm = grid.hm;
    const ts = chart.timeScale();
    const k = hm.bars_per_col;
    const edges = hm.price_edges;
    const started = performance.now();
    target.useBitmapCoordinateSpace((scope) => {
      const ctx = scope.context;
      const hr = scope.horizontalPixelRatio;
      const vr = scope.verticalPixelRatio;
      const W = scope.bitmapSize.width;
      const range = ts.getVisibleLogicalRange();
      if (!range) return;
      // Columns that intersect the visible range (column c spans logical [c*k - 0.5, (c+1)*k - 0.5)).
      const c0 = Math.max(0, Math.floor((range.from + 0.5) / k) - 1);
      const c1 = Math.min(hm.cols, Math.ceil((range.to + 0.5) / k) + 1);
      if (c1 <= c0) return;
      // logicalToCoordinate only takes whole bar indices; bar edges sit half a bar spacing to the left.
      const x0 = ts.logicalToCoordinate(0);
      const x1 = ts.logicalToCoordinate(1);
      if (x0 === null || x1 === null) return;
      const half = (x1 - x0) / 2;
      const xa = ts.logicalToCoordinate(c0 * k) - half;
      const xbRaw = ts.logicalToCoordinate(c1 * k) - half;
      const xLast = ts.logicalToCoordinate(src.nBars) - half;
      ctx.save();
      ctx.imageSmoothingEnabled = false;
      // Never paint to the right of the last bar (the last column may be partial).
      const clipRight = Math.min(W, Math.round(xLast * hr));
      ctx.beginPath();
      ctx.rect(0, 0, clipRight, scope.bitmapSize.height);
      ctx.clip();
      const dx = Math.round(xa * hr);
      const dw = Math.round(xbRaw * hr) - dx;
      const rows = hm.rows;
      if (hm.uniform_rows) {
        const yTop = series.priceToCoordinate(edges[rows]);
        const yBot = series.priceToCoordinate(edges[0]);
        if (yTop !== null && yBot !== null) {
          const dy = Math.round(yTop * vr);
          ctx.drawImage(grid.canvas, c0, 0, c1 - c0, rows, dx, dy, dw, Math.round(yBot * vr) - dy);
        }
      } else {
        for (let r = 0; r < rows; r++) {
          const yTop = series.priceToCoordinate(edges[r + 1]);
          const yBot = series.priceToCoordinate(edges[r]);
          if (yTop === null || yBot === null) continue;
          const dy = Math.round(yTop * vr);
          const dh = Math.max(1, Math.round(yBot * vr) - dy);
          ctx.drawImage(grid.canvas, c0, rows - 1 - r, c1 - c0, 1, dx, dy, dw, dh);
        }
      }
      ctx.restore();
      src.onPainted();
    });
    src.drawTimes.push(performance.now() - started);
    if (src.drawTimes.length > 200) src.drawTimes.shift();
  }
}

class HeatmapPaneView {
  constructor(source) {
    this._renderer = new HeatmapRenderer(source);
  }
  zOrder() {
    return "bottom";
  }
  renderer() {
    return this._renderer;
  }
}

class HeatmapPrimitive {
  constructor(onPainted) {
    this.grid = null;
    this.nBars = 0;
    this.chart = null;
    this.series = null;
    this.levelPrices = [];
    this.drawTimes = []; // ms per heatmap draw, newest last (benchmark)
    this._requestUpdate = null;
    this._views = [new HeatmapPaneView(this)];
    this.onPainted = onPainted;
  }
  attached({ chart, series, requestUpdate }) {
    this.chart = chart;
    this.series = series;
    this._requestUpdate = requestUpdate;
  }
  detached() {
    this.chart = null;
    this.series = null;
    this._requestUpdate = null;
  }
  paneViews() {
    return this._views;
  }
  updateAllViews() {}
  // Keep the labelled levels inside the autoscaled price range.
  autoscaleInfo() {
    if (!this.levelPrices.length) return null;
    return {
      priceRange: {
        minValue: Math.min(...this.levelPrices),
        maxValue: Math.max(...this.levelPrices),
      },
    };
  }
  setGrid(grid, nBars, levelPrices) {
    this.grid = grid;
    this.nBars = nBars;
    this.levelPrices = levelPrices;
    if (this._requestUpdate) this._requestUpdate();
  }
}

// ---- recorded liquidations (series primitive): one circle per marker, area ~ USD, above the candles --------
class RecordedRenderer {
  constructor(source) {
    this._source = source;
  }

  draw(target) {
    const src = this._source;
    const rec = src.rec;
    src.points = [];
    if (!rec || !src.visible || !src.chart || !src.series) return;
    const ts = src.chart.timeScale();
    const m = rec.markers;
    target.useBitmapCoordinateSpace((scope) => {
      const ctx = scope.context;
      const hr = scope.horizontalPixelRatio;
      const vr = scope.verticalPixelRatio;
      ctx.save();
      ctx.lineWidth = Math.max(1, Math.round(hr));
      for (let i = 0; i < m.time.length; i++) {
        const x = ts.timeToCoordinate(m.time[i]);
        const y = src.series.priceToCoordinate(m.price[i]);
        if (x === null || y === null) continue;
        const r = m.radius[i];
        const colour = rec.colours[m.side[i]] || "#888888";
        ctx.beginPath();
        ctx.arc(x * hr, y * vr, r * hr, 0, 2 * Math.PI);
        ctx.fillStyle = `${colour}a6`; // 65 %
        ctx.fill();
        ctx.strokeStyle = src.outline;
        ctx.stroke();
        src.points.push([x, y, r, i]);
      }
      // Where the recording listened: a thin strip along the bottom of the price pane (no strip = not heard).
      const h = scope.bitmapSize.height;
      ctx.fillStyle = `${src.outline}`;
      ctx.globalAlpha = 0.55;
      const x0 = ts.logicalToCoordinate(0);
      const x1 = ts.logicalToCoordinate(1);
      if (x0 !== null && x1 !== null) {
        const step = x1 - x0;
        for (const [a, b] of rec.window_bars) {
          const xa = (x0 + step * (a - 0.5)) * hr;
          const xb = (x0 + step * (b + 0.5)) * hr;
          ctx.fillRect(Math.round(xa), h - Math.round(3 * vr), Math.max(1, Math.round(xb - xa)), Math.round(3 * vr));
        }
      }
      ctx.restore();
    });
  }
}

class RecordedPaneView {
  constructor(source) {
    this._renderer = new RecordedRenderer(source);
  }
  zOrder() {
    return "top";
  }
  renderer() {
    return this._renderer;
  }
}

class RecordedPrimitive {
  constructor() {
    this.rec = null;
    this.visible = true;
    this.points = []; // [x, y, radius, marker index] of the circles drawn last (hover, tests)
    this.outline = "#ffffff";
    this.chart = null;
    this.series = null;
    this._requestUpdate = null;
    this._views = [new RecordedPaneView(this)];
  }
  attached({ chart, series, requestUpdate }) {
    this.chart = chart;
    this.series = series;
    this._requestUpdate = requestUpdate;
  }
  detached() {
    this.chart = null;
    this.series = null;
    this._requestUpdate = null;
  }
  paneViews() {
    return this._views;
  }
  updateAllViews() {}
  setData(rec, outline) {
    this.rec = rec;
    this.outline = outline;
    if (this._requestUpdate) this._requestUpdate();
  }
  setVisible(on) {
    this.visible = on;
    if (this._requestUpdate) this._requestUpdate();
  }
  // The marker under (x, y) in CSS pixels, the smallest of those that contain the point (null: none).
  hit(x, y) {
    let best = null;
    for (const [px, py, r, i] of this.points) {
      const d = Math.hypot(px - x, py - y);
      if (d <= r + 2 && (best === null || r < best[1])) best = [i, r];
    }
    return best === null ? null : best[0];
  }
}

// ---- theme ---------------------------------------------------------------------------------------------
function readTheme(parentElement) {
  const host = parentElement.host || parentElement;
  const cs = getComputedStyle(host);
  const v = (name, fallback) => (cs.getPropertyValue(name) || "").trim() || fallback;
  const bg = v("--st-background-color", "#0e1117");
  const text = v("--st-text-color", "#fafafa");
  const font = v("--st-font", "sans-serif");
  const probe = document.createElement("canvas").getContext("2d");
  probe.fillStyle = bg;
  const hex = probe.fillStyle; // normalised to #rrggbb when opaque
  let dark = true;
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (m) {
    const [r, g, b] = [m[1], m[2], m[3]].map((h) => parseInt(h, 16));
    dark = 0.2126 * r + 0.7152 * g + 0.0722 * b < 128;
  }
  return { bg, bgHex: hex, text, font, dark, key: `${bg}|${text}|${font}` };
}

const CSS_TEXT = `
.liq-root { position: relative; width: 100%; font: 12px/1.35 var(--st-font, sans-serif);
  color: var(--st-text-color, #fafafa); }
.liq-head { position: absolute; left: 0; right: 0; top: 0; height: 26px; display: flex; gap: 12px;
  align-items: center; justify-content: space-between; }
.liq-chart { position: absolute; left: 0; right: 0; top: 28px; bottom: 18px; }
.liq-readout { flex: 1 1 auto; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
.liq-readout b { font-weight: 600; }
.liq-readout .l { color: var(--liq-long); } .liq-readout .s { color: var(--liq-short); }
.liq-tools { flex: 0 0 auto; display: flex; align-items: center; gap: 10px; }
.liq-legend { display: flex; align-items: center; gap: 6px; font-variant-numeric: tabular-nums; }
.liq-legend .bar { width: 120px; height: 9px; border-radius: 2px; }
.liq-foot { position: absolute; left: 0; right: 0; bottom: 0; height: 18px; display: flex;
  justify-content: space-between; align-items: center; font-size: 11px; opacity: 0.75; }
.liq-foot a { color: inherit; flex: 0 0 auto; white-space: nowrap; }
.liq-foot .note { flex: 1 1 auto; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  padding-right: 12px; }
.liq-png { cursor: pointer; font: inherit; color: inherit; background: transparent;
  border: 1px solid color-mix(in srgb, currentColor 35%, transparent); border-radius: 4px; padding: 1px 8px; }
.liq-png:hover { border-color: var(--st-primary-color, #f0b90b); }
.liq-swept { display: flex; align-items: center; gap: 4px; cursor: pointer; user-select: none; }
.liq-rec { display: none; align-items: center; gap: 4px; cursor: pointer; user-select: none; }
.liq-rec .dot { width: 9px; height: 9px; border-radius: 50%;
  background: linear-gradient(90deg, var(--liq-long) 50%, var(--liq-short) 50%); }
.liq-root.narrow .liq-head { height: 44px; flex-wrap: wrap; row-gap: 0; align-content: space-between; }
.liq-root.narrow .liq-readout { flex: 1 0 100%; }
.liq-root.narrow .liq-tools { gap: 8px; }
.liq-root.narrow .liq-legend .bar { width: 56px; }
.liq-root.narrow .liq-chart, .liq-root.narrow .liq-problem { top: 46px; }
.liq-problem { position: absolute; left: 0; right: 0; top: 28px; bottom: 18px; display: none;
  align-items: center; justify-content: center; text-align: center; padding: 24px; font-size: 14px;
  background: var(--st-background-color, #0e1117); }
`;

// ---- the chart view (one per mounted component) ----------------------------------------------------
class ChartView {
  constructor(parentElement) {
    this.parentElement = parentElement;
    this.t0 = performance.now();
    this.seq = 0;
    this.painted = false;
    this.priceLines = [];
    this.themeKey = null;
    this.viewKey = null;
    this.payload = null;
    this.digest = null;
    this.grid = null;

    const style = document.createElement("style");
    style.textContent = CSS_TEXT;
    const root = document.createElement("div");
    root.className = "liq-root";
    root.setAttribute("data-testid", "liq-chart");
    root.innerHTML = `
      <div class="liq-head">
        <div class="liq-readout"></div>
        <div class="liq-tools">
          <label class="liq-rec" data-testid="liq-recorded-toggle"><input type="checkbox" checked><span class="dot"></span><span class="text">Recorded liquidations</span></label>
          <label class="liq-swept" data-testid="liq-swept-toggle" title="Faint dots: price clusters the model says were already liquidated (swept), at the bars of their first and last sweep. Untick to hide them."><input type="checkbox" checked><span class="text">Swept</span></label>
          <div class="liq-legend"><span class="lo"></span><span class="bar"></span><span class="hi"></span></div>
          <button class="liq-png" type="button" title="Download the chart as PNG">PNG</button>
        </div>
      </div>
      <div class="liq-chart"></div>
      <div class="liq-problem" role="alert"></div>
      <div class="liq-foot"><span class="note"></span>
        <a href="https://www.tradingview.com/" target="_blank" rel="noopener">Charting by TradingView Lightweight Charts™</a>
      </div>`;
    parentElement.appendChild(style);
    parentElement.appendChild(root);
    this.style = style;
    this.root = root;
    this.readout = root.querySelector(".liq-readout");
    this.legend = root.querySelector(".liq-legend");
    this.note = root.querySelector(".liq-foot .note");
    this.problem = root.querySelector(".liq-problem");
    root.querySelector(".liq-legend .bar").style.background = cssGradient();
    root.querySelector(".liq-png").addEventListener("click", () => this.downloadPng());

    const container = root.querySelector(".liq-chart");
    ChartView.created = (ChartView.created || 0) + 1;
    this.chartsCreated = ChartView.created;
    this.chart = LWC.createChart(container, {
      autoSize: true,
      layout: { attributionLogo: false, panes: { separatorColor: "rgba(128,128,128,0.25)" } },
      grid: { vertLines: { visible: false }, horzLines: { visible: false } },
      crosshair: { mode: LWC.CrosshairMode.Normal },
      rightPriceScale: { scaleMargins: { top: 0.06, bottom: 0.06 } },
      timeScale: {
        timeVisible: true,
        secondsVisible: false,
        rightOffset: 4,
        minBarSpacing: 0.2,
        tickMarkFormatter: tickLabel,
      },
      localization: { timeFormatter: (t) => fmtTime(t) },
    });
    this.candles = this.chart.addSeries(LWC.CandlestickSeries, {
      borderVisible: false,
      priceLineStyle: LWC.LineStyle.Dashed,
    });
    this.volume = this.chart.addSeries(
      LWC.HistogramSeries,
      { priceFormat: { type: "volume" }, lastValueVisible: false, priceLineVisible: false },
      1
    );
    const panes = this.chart.panes();
    panes[0].setStretchFactor(5);
    panes[1].setStretchFactor(1);
    this.heat = new HeatmapPrimitive(() => this.onHeatPainted());
    this.candles.attachPrimitive(this.heat);
    this.rec = new RecordedPrimitive();
    this.candles.attachPrimitive(this.rec);
    this.recToggle = root.querySelector(".liq-rec");
    this.recToggle.querySelector("input").addEventListener("change", (e) => {
      this.rec.setVisible(e.target.checked);
      this.root.dataset.recordedVisible = e.target.checked ? "1" : "0";
    });
    this.markers = LWC.createSeriesMarkers(this.candles, [], { autoScale: false });
    this.sweptVisible = true;
    root.querySelector(".liq-swept input").addEventListener("change", (e) => {
      this.sweptVisible = e.target.checked;
      if (this.payload) this.setSwept(this.payload);
    });

    this.chart.subscribeCrosshairMove((p) => this.onCrosshair(p));
    this.chart.subscribeClick((p) => this.onClick(p));

    // Small API for tests and benchmarks (no effect on the UI).
    root.liqApi = {
      cellCenter: (col, row) => this.cellCenter(col, row),
      visiblePriceRange: () => {
        const h = this.chart.paneSize(0).height;
        return [this.candles.coordinateToPrice(h), this.candles.coordinateToPrice(0)];
      },
      timeToX: (t) => this.chart.timeScale().timeToCoordinate(t),
      logicalToX: (l) => this.chart.timeScale().logicalToCoordinate(l),
      priceToY: (p) => this.candles.priceToCoordinate(p),
      paneSize: () => this.chart.paneSize(0),
      theme: () => ({ ...this.theme }),
      drawTimes: () => this.heat.drawTimes.slice(),
      visibleLogicalRange: () => this.chart.timeScale().getVisibleLogicalRange(),
      barCount: () => (this.payload ? this.payload.candles.time.length : 0),
      charts: () => this.chartsCreated,
      recordedPoints: () => this.rec.points.map(([x, y, r, i]) => ({ x, y, r, i })),
    };
  }

  applyTheme(theme) {
    if (theme.key === this.themeKey) return;
    this.themeKey = theme.key;
    this.theme = theme;
    this.applySideColours();
    const faint = theme.dark ? "rgba(255,255,255,0.10)" : "rgba(0,0,0,0.10)";
    this.chart.applyOptions({
      layout: {
        background: { type: "solid", color: theme.bg },
        textColor: theme.text,
        fontFamily: theme.font,
      },
      rightPriceScale: { borderColor: faint },
      timeScale: { borderColor: faint },
      crosshair: {
        vertLine: { color: theme.dark ? "rgba(255,255,255,0.35)" : "rgba(0,0,0,0.35)" },
        horzLine: { color: theme.dark ? "rgba(255,255,255,0.35)" : "rgba(0,0,0,0.35)" },
      },
    });
    const up = theme.dark ? "#26a69a" : "#089981";
    const down = theme.dark ? "#ef5350" : "#f23645";
    this.candles.applyOptions({
      upColor: up,
      downColor: down,
      wickUpColor: up,
      wickDownColor: down,
      priceLineColor: theme.text,
    });
    this.upColour = up;
    this.downColour = down;
    if (this.payload) {
      this.setVolume(this.payload);
      this.setLevels(this.payload);
    }
  }

  applySideColours() {
    const sides = (this.payload && this.payload.colours) || FALLBACK_SIDE_COLOURS;
    this.sideColours = sides;
    this.root.style.setProperty("--liq-long", sides.long);
    this.root.style.setProperty("--liq-short", sides.short);
  }

  async update(payload, digest, height, setStateValue, parentElement) {
    this.setStateValue = setStateValue;
    this.root.style.height = `${height}px`;
    this.applyTheme(readTheme(parentElement));
    if (!payload || (digest && digest === this.digest)) return;
    this.digest = digest;
    const seq = ++this.seq;
    if (payload.colour_ramp) {
      setRamp(payload.colour_ramp);
      this.root.querySelector(".liq-legend .bar").style.background = cssGradient();
    }
    const grid = await decodeHeatmap(payload.heatmap);
    if (seq !== this.seq) return; // a newer payload arrived meanwhile
    const first = this.payload === null;
    const c = payload.candles;
    const viewKey = `${payload.symbol}|${payload.interval_s}|${c.time[0]}|${c.time[c.time.length - 1]}`;
    const keepRange = !first && viewKey === this.viewKey;
    const saved = keepRange ? this.chart.timeScale().getVisibleLogicalRange() : null;
    this.payload = payload;
    this.viewKey = viewKey;
    grid.hm = payload.heatmap;
    this.grid = grid;
    this.applySideColours();

    const d = payload.price_decimals;
    const minMove = Math.pow(10, -d);
    this.candles.applyOptions({
      priceFormat: { type: "custom", minMove, formatter: (price) => fmtPrice(price, d) },
    });
    const bars = new Array(c.time.length);
    for (let i = 0; i < c.time.length; i++) {
      bars[i] = { time: c.time[i], open: c.open[i], high: c.high[i], low: c.low[i], close: c.close[i] };
    }
    this.candles.setData(bars);
    this.setVolume(payload);
    this.setLevels(payload);
    this.setSwept(payload);
    this.setRecorded(payload);
    this.heat.setGrid(grid, c.time.length, payload.autoscale_prices || []);

    const hm = payload.heatmap;
    this.legend.querySelector(".lo").textContent = hm.threshold_label;
    this.legend.querySelector(".hi").textContent = `≥ ${hm.color_max_label}`;
    this.legend.title = "Estimated liquidation notional (long + short) per cell, absolute USD";
    this.root.dataset.colorMax = hm.color_max_label;
    this.root.dataset.levels = JSON.stringify(payload.levels.map((l) => l.label));
    this.root.dataset.paintedCells = String(grid.painted);
    const iv = payload.interval_s;
    const ivLabel = iv % 86400 === 0 ? `${iv / 86400}d` : iv % 3600 === 0 ? `${iv / 3600}h` : `${iv / 60}m`;
    // Python's labels say what the bars are (merged candles included) and which days they cover
    const barsLabel = payload.bars_label || `${ivLabel} bars`;
    this.note.textContent =
      `${payload.title ? `${payload.title} · ` : ""}${payload.span_label ? `${payload.span_label} · ` : ""}` +
      `${barsLabel} · ` +
      `heatmap ${hm.cols}×${hm.rows} cells · estimated, not reported liquidations` +
      (payload.recorded ? " · dots: recorded liquidations, a lower bound" : "");
    // at phone width the header strip takes two lines: the readout, then the legend and the buttons
    this.root.classList.toggle("narrow", this.narrow());
    this.showDefaultReadout();

    if (this.narrow()) {
      // the level labels sit at the right edge: leave that part of the pane empty on a phone
      this.chart.applyOptions({ timeScale: { rightOffset: Math.ceil(c.time.length * 0.15) } });
      this.note.textContent = `${payload.span_label || ""} · ${(payload.bars_label || "").split(" (")[0]}`;
    }
    this.note.title = this.note.textContent; // the whole line on hover when it is cut short
    if (saved) this.chart.timeScale().setVisibleLogicalRange(saved);
    else this.chart.timeScale().fitContent();
  }

  setVolume(payload) {
    const c = payload.candles;
    const up = this.theme && this.theme.dark ? "rgba(38,166,154,0.45)" : "rgba(8,153,129,0.45)";
    const down = this.theme && this.theme.dark ? "rgba(239,83,80,0.45)" : "rgba(242,54,69,0.45)";
    const vol = new Array(c.time.length);
    for (let i = 0; i < c.time.length; i++) {
      vol[i] = { time: c.time[i], value: c.volume[i], color: c.close[i] >= c.open[i] ? up : down };
    }
    this.volume.setData(vol);
  }

  narrow() {
    return this.root.clientWidth > 0 && this.root.clientWidth < NARROW_PX;
  }

  setLevels(payload) {
    for (const line of this.priceLines) this.candles.removePriceLine(line);
    this.priceLines = [];
    const titles = [];
    for (const lv of payload.levels) {
      const colour = lv.side === "long" ? this.sideColours.long : this.sideColours.short;
      titles.push(lv.hit ? lv.hit_title : this.narrow() && lv.short_label ? lv.short_label : lv.label);
      this.priceLines.push(
        this.candles.createPriceLine({
          price: lv.price,
          color: colour,
          lineWidth: lv.hit ? 2 : 1,
          lineStyle: lv.hit ? LWC.LineStyle.Solid : LWC.LineStyle.Dashed,
          axisLabelVisible: true,
          // at phone width the short label (side and USD; the axis shows the price) keeps the bars clear
          title: titles[titles.length - 1],
        })
      );
    }
    this.root.dataset.levelTitles = JSON.stringify(titles);
  }

  setRecorded(payload) {
    const rec = payload.recorded || null;
    const outline = this.theme && this.theme.dark ? "#ffffff" : "#1e2329";
    this.rec.setData(rec, outline);
    this.recToggle.style.display = rec ? "flex" : "none";
    if (rec) {
      this.recToggle.title = `${rec.summary}. ${rec.note}`;
      this.recToggle.querySelector(".text").textContent = `${rec.legend} (${rec.total_label})`;
    }
    this.root.dataset.recordedMarkers = String(rec ? rec.markers.time.length : 0);
    this.root.dataset.recordedVisible = this.rec.visible ? "1" : "0";
  }

  setSwept(payload) {
    const faint = (side) => `${side === "long" ? this.sideColours.long : this.sideColours.short}4d`; // 30 %
    const shown = this.sweptVisible ? payload.swept : [];
    this.root.dataset.sweptShown = String(shown.length);
    this.markers.setMarkers(
      shown.map((s) => ({
        time: s.time,
        position: "atPriceMiddle",
        price: s.price,
        shape: "circle",
        color: faint(s.side),
        size: 0.1,
      }))
    );
  }

  onHeatPainted() {
    if (this.painted || !this.grid) return;
    this.painted = true;
    const now = performance.now();
    this.root.dataset.firstPaintMs = String(Math.round(now));
    this.root.dataset.renderMs = String(Math.round(now - this.t0));
    this.root.dataset.painted = "1";
  }

  cell(logical, price) {
    const p = this.payload;
    if (!p || !this.grid) return null;
    const hm = p.heatmap;
    const col = Math.floor((logical + 0.5) / hm.bars_per_col);
    const e = hm.price_edges;
    if (col < 0 || col >= hm.cols || price < e[0] || price >= e[hm.rows]) return { long: 0, short: 0 };
    // (codes, not USD: the labels for each code are in the payload)
    let lo = 0;
    let hi = hm.rows;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (e[mid] <= price) lo = mid;
      else hi = mid;
    }
    const i = col * hm.rows + lo;
    return { long: this.grid.qLong[i], short: this.grid.qShort[i] };
  }

  cellCenter(col, row) {
    const hm = this.payload.heatmap;
    const ts = this.chart.timeScale();
    const k = hm.bars_per_col;
    const xa = ts.logicalToCoordinate(col * k);
    const xb = ts.logicalToCoordinate((col + 1) * k);
    const x = xa === null || xb === null ? null : (xa + xb) / 2 - (xb - xa) / (2 * k);
    const price = (hm.price_edges[row] + hm.price_edges[row + 1]) / 2;
    const y = this.candles.priceToCoordinate(price);
    return x === null || y === null ? null : { x, y, price };
  }

  showDefaultReadout() {
    const p = this.payload;
    if (!p) return;
    // at phone width the key to L/S stays in the legend and help: the readout keeps the pair and the price
    this.readout.innerHTML = this.narrow()
      ? `<b>${p.title || ""}</b> ${p.last_price_label}`
      : `<b>${p.title || ""}</b> last ${p.last_price_label} · ` +
        `<span class="l">L</span> = longs liquidated below · <span class="s">S</span> = shorts above`;
  }

  onCrosshair(param) {
    const p = this.payload;
    if (!p || !param.point || param.paneIndex !== 0 || param.logical === undefined) {
      this.showDefaultReadout();
      return;
    }
    const t = p.candles.time;
    const bar = Math.max(0, Math.min(t.length - 1, Math.round(param.logical)));
    const price = this.candles.coordinateToPrice(param.point.y);
    if (price === null) return;
    const hit = this.rec.hit(param.point.x, param.point.y);
    if (hit !== null) {
      const m = p.recorded.markers;
      const span = document.createElement("span");
      span.className = m.side[hit] === "long" ? "l" : "s";
      span.textContent = m.label[hit];
      this.readout.replaceChildren(span);
      this.root.dataset.recordedHover = m.label[hit];
      return;
    }
    const cell = this.cell(param.logical, price) || { long: 0, short: 0 };
    const hm = p.heatmap;
    const [lw, sw] = this.narrow() ? ["L", "S"] : ["Long", "Short"];
    this.readout.innerHTML =
      `${this.narrow() ? "" : `${fmtTime(t[bar])} · `}<b>${fmtPrice(price, p.price_decimals)}</b> · ` +
      `<span class="l">${lw} ${hm.long_labels[cell.long]}</span> · ` +
      `<span class="s">${sw} ${hm.short_labels[cell.short]}</span>`;
  }

  onClick(param) {
    const p = this.payload;
    if (!p || !param.point || param.paneIndex !== 0 || param.logical === undefined) return;
    const t = p.candles.time;
    const bar = Math.max(0, Math.min(t.length - 1, Math.round(param.logical)));
    const price = this.candles.coordinateToPrice(param.point.y);
    if (price === null || !this.setStateValue) return;
    const scale = Math.pow(10, p.price_decimals);
    const value = { time: t[bar], price: Math.round(price * scale) / scale };
    this.root.dataset.lastClick = JSON.stringify(value);
    this.setStateValue("click", value);
  }

  // The title line of an exported PNG: pair, bars, days, source, time of the last candle, "estimate".
  exportTitle() {
    const p = this.payload;
    const last = p.candles.time[p.candles.time.length - 1];
    return [
      p.title || p.symbol || "",
      (p.bars_label || "").split(" (")[0],
      p.span_label || "",
      p.source_label || "",
      `last candle ${fmtTime(last)}`,
      "estimated liquidation heatmap (a model estimate)",
    ]
      .filter((part) => part)
      .join("  ·  ");
  }

  downloadPng() {
    const shot = this.chart.takeScreenshot(true, false);
    const p = this.payload;
    const out = document.createElement("canvas");
    const css = Math.max(1, this.root.querySelector(".liq-chart").clientWidth);
    const scale = (2 * css) / shot.width; // 2x the size on screen, whatever the device's pixel ratio
    const ratio = 2;
    const pad = Math.round(24 * ratio);
    const w = Math.round(shot.width * scale);
    const h = Math.round(shot.height * scale);
    out.width = w;
    out.height = h + 2 * pad; // a title line above, the colour scale and attribution below
    const ctx = out.getContext("2d");
    ctx.fillStyle = this.theme.bg;
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(shot, 0, pad, w, h);
    const fs = Math.max(10, Math.round(pad * 0.5));
    ctx.font = `${fs}px sans-serif`;
    ctx.fillStyle = this.theme.text;
    ctx.textBaseline = "middle";
    ctx.fillText(this.exportTitle(), 8 * ratio, pad / 2);
    this.root.dataset.exportTitle = this.exportTitle();
    this.root.dataset.exportSize = `${out.width}x${out.height}`;
    // Footer, left to right without overlap: colour scale (bar and its ends), then the attribution the
    // lightweight-charts licence asks for, right-aligned.
    const y = h + pad + pad / 2;
    const hm = p.heatmap;
    const lo = hm.threshold_label;
    const hi = `≥ ${hm.color_max_label}`;
    ctx.fillText(`colour: ${lo}`, 8 * ratio, y);
    const barX = Math.round(8 * ratio + ctx.measureText(`colour: ${lo}`).width + 6 * ratio);
    const barW = Math.round(out.width * 0.12);
    ctx.save();
    const grad = ctx.createLinearGradient(barX, 0, barX + barW, 0);
    for (let i = 0; i <= 10; i++) {
      const [r, g, b] = rampColour(i / 10);
      grad.addColorStop(i / 10, `rgb(${r},${g},${b})`);
    }
    ctx.fillStyle = grad;
    ctx.fillRect(barX, y - fs / 3, barW, (fs * 2) / 3);
    ctx.restore();
    ctx.fillStyle = this.theme.text;
    ctx.fillText(hi, barX + barW + 6 * ratio, y);
    this.root.dataset.exportScaleEnd = String(Math.round(barX + barW + 6 * ratio + ctx.measureText(hi).width));
    const credit = "Charting by TradingView Lightweight Charts™ (tradingview.com)";
    this.root.dataset.exportCreditStart = String(Math.round(out.width - 8 * ratio - ctx.measureText(credit).width));
    ctx.textAlign = "right";
    ctx.fillText(credit, out.width - 8 * ratio, y);
    out.toBlob((blob) => {
      if (!blob) return;
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      const stamp = p.candles.time[p.candles.time.length - 1];
      a.download = `liq-heatmap-${(p.symbol || "chart").toLowerCase()}-${stamp}.png`;
      this.root.appendChild(a);
      a.click();
      a.remove();
      window.setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    }, "image/png");
  }

  // A plain message instead of the chart (the reason goes to the browser console and data-error).
  showProblem(err) {
    this.root.dataset.error = String(err && err.message ? err.message : err);
    this.problem.textContent =
      "The chart could not be drawn in this browser. The levels and tables on this page are still " +
      "correct; try reloading, or another browser.";
    this.problem.style.display = "flex";
  }

  destroy() {
    this.seq++;
    this.chart.remove();
    this.root.remove();
    this.style.remove();
  }
}

export default function liqChart(component) {
  const { data, parentElement, setStateValue } = component;
  let view = charts.get(parentElement);
  if (!view) {
    view = new ChartView(parentElement);
    charts.set(parentElement, view);
  }
  const height = data && data.height ? data.height : 560;
  const digest = data ? data.digest : null;
  try {
    // The payload comes as JSON text (cached on the server): read it only when it changed.
    const same = digest && digest === view.digest;
    const payload =
      data && data.payload_json && !same ? { ...JSON.parse(data.payload_json), ...(data.extra || {}) } : null;
    view.update(payload, digest, height, setStateValue, parentElement).catch((err) => {
      view.showProblem(err);
      window.console.error("liq_chart:", err);
    });
  } catch (err) {
    view.showProblem(err);
    window.console.error("liq_chart:", err);
  }
  return () => {
    view.destroy();
    charts.delete(parentElement);
  };
}
