// Runs: the training runs under the studio's --runs folders with their configuration and their loss and validation
// curves (followed live while a run is training), "use this model" to open a run's checkpoint in Create, and the
// compare reports found there.

import { getJSON } from './api.js';
import { drawChart } from './chart.js';

const POLL_MS = 2000;

export function setupRuns(studio) {
  const $ = (id) => document.getElementById(id);
  const list = $('runs-list');
  const reports = $('reports-list');
  const status = $('runs-status');
  const title = $('run-title');
  const meta = $('run-meta');
  const chart = $('run-chart');
  const use = $('run-use');
  const config = $('run-config');
  let selected = null; // {name, records, next, finished, timer, model, validMetric}

  async function refresh() {
    try {
      const body = await getJSON('/api/runs');
      list.replaceChildren();
      for (const run of body.runs) {
        const item = document.createElement('li');
        const button = document.createElement('button');
        button.type = 'button';
        button.dataset.run = run.name;
        const name = document.createElement('span');
        name.textContent = run.name;
        const badge = document.createElement('span');
        badge.className = `badge ${run.status}`;
        badge.textContent = `${run.family || '?'} · ${run.status} · ${run.steps} steps`;
        button.append(name, badge);
        button.addEventListener('click', () => open(run.name));
        if (selected && selected.name === run.name) button.classList.add('selected');
        item.append(button);
        list.append(item);
      }
      reports.replaceChildren();
      for (const report of body.reports) {
        const item = document.createElement('li');
        const link = document.createElement('a');
        link.href = report.url;
        link.target = '_blank';
        link.rel = 'noopener';
        link.textContent = report.name;
        item.append(link);
        reports.append(item);
      }
      if (!body.folders) status.textContent = 'Start cadenza serve with --runs DIR to see training runs here.';
      else if (!body.runs.length) status.textContent = 'No training run found under the --runs folders.';
      else status.textContent = `${body.runs.length} run${body.runs.length === 1 ? '' : 's'}`;
    } catch (error) {
      studio.setStatus(status, error.message, true);
    }
  }

  function draw() {
    if (!selected) return;
    const train = [];
    const valid = [];
    for (const record of selected.records) {
      if (record.kind === 'train' && Number.isFinite(record.loss)) train.push({ x: record.step, y: record.loss });
      if (record.kind === 'valid') {
        if (!selected.validMetric) selected.validMetric = ['nll', 'elbo_per_step'].find((k) => k in record) || '';
        const value = record[selected.validMetric];
        if (Number.isFinite(value)) valid.push({ x: record.step, y: value });
      }
    }
    drawChart(
      chart,
      [
        { key: 'train', label: 'training loss', colour: '#3b7be8', points: train },
        { key: 'valid', label: `validation ${selected.validMetric || ''}`.trim(), colour: '#ea7a2c', points: valid, radius: 3.5 },
      ],
      { title: selected.finished ? 'finished' : 'training (live)' },
    );
  }

  async function poll(run) {
    if (selected !== run) return;
    try {
      const body = await getJSON(`/api/runs/metrics?name=${encodeURIComponent(run.name)}&from=${run.next}`);
      if (selected !== run) return;
      run.records.push(...body.records);
      run.next = body.next;
      run.finished = body.finished;
      draw();
    } catch (error) {
      studio.setStatus(status, error.message, true);
    }
    if (selected === run && !run.finished) run.timer = setTimeout(() => poll(run), POLL_MS);
  }

  async function open(name) {
    if (selected) clearTimeout(selected.timer);
    const run = { name, records: [], next: 0, finished: false, timer: null, model: null, validMetric: '' };
    selected = run;
    for (const button of list.querySelectorAll('button')) button.classList.toggle('selected', button.dataset.run === name);
    title.textContent = name;
    try {
      const detail = await getJSON(`/api/runs/detail?name=${encodeURIComponent(name)}`);
      run.model = detail.model || null;
      meta.textContent = `${detail.family || '?'} · ${detail.status} · ${detail.steps} steps · ${
        detail.checkpoint ? `checkpoint: ${detail.checkpoint}` : 'no checkpoint yet'
      }`;
      config.textContent = JSON.stringify(detail.config, null, 2);
      use.disabled = !run.model;
    } catch (error) {
      studio.setStatus(status, error.message, true);
    }
    await poll(run);
  }

  use.addEventListener('click', async () => {
    if (!selected || !selected.model) return;
    await studio.openInCreate(selected.model);
  });
  studio.addEventListener('tab', (event) => {
    if (event.detail === 'runs') refresh();
  });
  return { refresh, open };
}
