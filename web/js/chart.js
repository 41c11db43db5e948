// A small line chart on a canvas: training loss and the validation score against the step, each series with its own
// y range (the two are on different scales), points marked. The canvas carries the number of points it drew
// (data-points, data-train-points, data-valid-points), which the browser tests read.

export function drawChart(canvas, series, { title = '' } = {}) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 600;
  const height = canvas.clientHeight || 280;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, width, height);
  const margin = { left: 56, right: 56, top: 28, bottom: 30 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const all = series.flatMap((s) => s.points);
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#5d6b7e';
  if (!all.length) {
    g.fillText('no metrics yet', margin.left, margin.top + 20);
    canvas.dataset.points = '0';
    for (const s of series) canvas.dataset[`${s.key}Points`] = '0';
    return;
  }
  let minX = Infinity;
  let maxX = -Infinity;
  for (const p of all) (minX = Math.min(minX, p.x)), (maxX = Math.max(maxX, p.x));
  if (minX === maxX) (minX -= 1), (maxX += 1);
  const x = (value) => margin.left + ((value - minX) / (maxX - minX)) * plotWidth;
  // Axes and x ticks.
  g.strokeStyle = '#c5ccd6';
  g.strokeRect(margin.left, margin.top, plotWidth, plotHeight);
  for (let i = 0; i <= 4; i++) {
    const value = minX + ((maxX - minX) * i) / 4;
    g.fillText(String(Math.round(value)), x(value) - 10, height - margin.bottom + 16);
  }
  g.fillText('step', width - margin.right + 14, height - margin.bottom + 16);
  let drawn = 0;
  series.forEach((s, index) => {
    const points = s.points;
    canvas.dataset[`${s.key}Points`] = String(points.length);
    if (!points.length) return;
    let minY = Infinity;
    let maxY = -Infinity;
    for (const p of points) (minY = Math.min(minY, p.y)), (maxY = Math.max(maxY, p.y));
    if (minY === maxY) (minY -= 0.5), (maxY += 0.5);
    const y = (value) => margin.top + (1 - (value - minY) / (maxY - minY)) * plotHeight;
    g.strokeStyle = s.colour;
    g.fillStyle = s.colour;
    g.lineWidth = 1.5;
    g.beginPath();
    points.forEach((p, i) => (i ? g.lineTo(x(p.x), y(p.y)) : g.moveTo(x(p.x), y(p.y))));
    g.stroke();
    for (const p of points) {
      g.beginPath();
      g.arc(x(p.x), y(p.y), s.radius || 2.5, 0, Math.PI * 2);
      g.fill();
      drawn++;
    }
    // This series' y range on its own side.
    const side = index === 0 ? margin.left - 6 : width - margin.right + 6;
    g.textAlign = index === 0 ? 'right' : 'left';
    g.fillText(maxY.toPrecision(3), side, margin.top + 8);
    g.fillText(minY.toPrecision(3), side, margin.top + plotHeight);
    g.textAlign = 'left';
    g.fillText(`● ${s.label}`, margin.left + index * 200, 16);
  });
  if (title) {
    g.fillStyle = '#1d2633';
    g.textAlign = 'right';
    g.fillText(title, width - margin.right, 16);
    g.textAlign = 'left';
  }
  canvas.dataset.points = String(drawn);
}
