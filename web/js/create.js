// Create: a new piece from any model, in variations, each drawn on its own piano roll as its notes stream in.

import { runJob } from './api.js';
import { buildControls, fillModelSelect, latestModelLoader } from './controls.js';
import { TakeCard } from './takes.js';

export function setupCreate(studio) {
  const $ = (id) => document.getElementById(id);
  const select = $('create-model');
  const info = $('create-model-info');
  const form = $('create-controls');
  const generate = $('create-generate');
  const stop = $('create-stop');
  const status = $('create-status');
  const takes = $('create-takes');
  let controls = null;
  let abort = null;
  const load = latestModelLoader(studio);

  async function choose(id) {
    generate.disabled = true;
    try {
      const { model, stale } = await load(id);
      if (stale) return;
      info.textContent = model ? model.description : 'No model: start cadenza serve with models.';
      controls = buildControls(form, model);
      // Which model the controls are for (a model is loaded asynchronously: the browser tests wait for this).
      form.dataset.model = model ? id : '';
      generate.disabled = !model || abort != null;
    } catch (error) {
      info.textContent = '';
      studio.setStatus(status, error.message, true);
    }
  }

  function refresh() {
    fillModelSelect(select, studio.models, () => true, { preferred: 'nottingham-lstm', unloaded: true });
    return choose(select.value);
  }

  select.addEventListener('change', () => choose(select.value));
  studio.addEventListener('models', refresh);

  generate.addEventListener('click', async () => {
    let options;
    try {
      options = controls.values();
    } catch (error) {
      studio.setStatus(status, error.message, true);
      return;
    }
    abort = new AbortController();
    generate.disabled = true;
    stop.disabled = false;
    const cards = new Map();
    const anchor = takes.firstChild;
    const started = performance.now();
    studio.setStatus(status, 'queued…');
    try {
      const done = await runJob(
        'generate',
        { model: select.value, ...options },
        {
          queued: (d) => studio.setStatus(status, d.ahead ? `waiting: ${d.ahead} job(s) ahead…` : 'starting…'),
          started: () => studio.setStatus(status, 'generating…'),
          'take-start': (d) => {
            const card = new TakeCard(studio, `variation ${d.take + 1} of ${d.of}`);
            takes.insertBefore(card.element, anchor);
            cards.set(d.take, card);
          },
          notes: (d) => cards.get(d.take)?.addNotes(d.notes, 'model'),
          take: (d) => cards.get(d.take)?.setTake(d.data),
        },
        abort.signal,
      );
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      studio.setStatus(status, `${done.takes.length} take${done.takes.length === 1 ? '' : 's'} in ${seconds} s`);
    } catch (error) {
      for (const card of cards.values()) if (!card.take) card.fail(abort.signal.aborted ? 'stopped' : 'failed');
      studio.setStatus(status, abort.signal.aborted ? 'stopped' : error.message, !abort.signal.aborted);
    } finally {
      abort = null;
      generate.disabled = false;
      stop.disabled = true;
    }
  });
  stop.addEventListener('click', () => abort && abort.abort());

  return {
    async selectModel(id) {
      await studio.refreshModels();
      fillModelSelect(select, studio.models, () => true, { preferred: id, unloaded: true });
      select.value = id;
      await choose(id);
    },
  };
}
