// Interpolate & vary (latent models): the path between two melodies (uploads or takes) in a number of steps, and
// attribute sliders (note density, mean pitch, ...) that move one melody along the model's attribute vectors. A model
// that interpolates between noise draws (a GAN) needs no melodies: it goes from seed to seed + 1.

import { runJob, uploadMidi } from './api.js';
import { buildControls, fillModelSelect, latestModelLoader } from './controls.js';
import { TakeCard } from './takes.js';

const ATTRIBUTE_LABELS = {
  note_density: 'note density',
  mean_pitch: 'mean pitch',
  pitch_range: 'pitch range',
  rest_rate: 'rests',
};

export function setupInterpolate(studio) {
  const $ = (id) => document.getElementById(id);
  const select = $('interpolate-model');
  const info = $('interpolate-model-info');
  const ends = $('interpolate-ends');
  const a = $('interpolate-a');
  const b = $('interpolate-b');
  const steps = $('interpolate-steps');
  const spherical = $('interpolate-spherical');
  const form = $('interpolate-controls');
  const run = $('interpolate-run');
  const stop = $('interpolate-stop');
  const status = $('interpolate-status');
  const strip = $('interpolate-takes');
  const vary = $('vary');
  const varyTake = $('vary-take');
  const sliders = $('vary-sliders');
  const varyStatus = $('vary-status');
  const varied = $('vary-takes');
  let model = null;
  let controls = null;
  let abort = null;

  async function uploadInto(input, target) {
    const file = input.files[0];
    if (!file) return;
    try {
      const take = await uploadMidi(file);
      studio.remember(take);
      studio.refreshTakeSelects();
      target.value = take.id;
    } catch (error) {
      studio.setStatus(status, error.message, true);
    }
  }
  $('interpolate-a-file').addEventListener('change', (e) => uploadInto(e.target, a));
  $('interpolate-b-file').addEventListener('change', (e) => uploadInto(e.target, b));

  const loadLatest = latestModelLoader(studio);
  async function choose(id) {
    const loaded = await loadLatest(id).catch(() => ({ model: null, stale: false }));
    if (loaded.stale) return;
    model = loaded.model;
    info.textContent = model ? model.description : 'No model here has a latent space to interpolate in.';
    const caps = model ? model.capabilities : {};
    ends.hidden = !caps.interpolate_scores;
    steps.max = String(studio.info.limits.max_interpolation_steps);
    // Interpolation shows the latent path itself: the most likely decoding by default.
    // Between two melodies each step decodes one latent (one window): no length to choose.
    const exclude = caps.interpolate_scores ? ['variations', 'bars'] : ['variations'];
    controls = model ? buildControls(form, model, { exclude, defaults: { temperature: 0 } }) : null;
    if (!model) form.replaceChildren();
    run.disabled = !model || abort != null;
    buildSliders();
  }

  function buildSliders() {
    sliders.replaceChildren();
    const attributes = model && model.capabilities.attribute ? model.attributes : [];
    vary.hidden = attributes.length === 0;
    for (const attribute of attributes) {
      const label = document.createElement('label');
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = ATTRIBUTE_LABELS[attribute] || attribute;
      const range = document.createElement('input');
      range.type = 'range';
      range.min = '-4';
      range.max = '4';
      range.step = '0.5';
      range.value = '0';
      range.dataset.attribute = attribute;
      const output = document.createElement('output');
      output.textContent = '0';
      range.addEventListener('input', () => (output.textContent = range.value));
      // A change (the slider let go) moves the melody along the attribute's vector by that amount.
      range.addEventListener('change', () => applyAttribute(attribute, Number(range.value)));
      label.append(name, range, output);
      sliders.append(label);
    }
  }

  async function applyAttribute(attribute, amount) {
    const take = studio.takes.get(varyTake.value);
    if (!take) {
      studio.setStatus(varyStatus, 'choose a melody to vary (upload one, or use a take)', true);
      return;
    }
    const card = new TakeCard(studio, `${take.name}: ${ATTRIBUTE_LABELS[attribute] || attribute} ${amount > 0 ? '+' : ''}${amount}`);
    varied.prepend(card.element);
    studio.setStatus(varyStatus, 'varying…');
    try {
      // The decoding options that apply to one melody (not its length or the number of variations).
      const options = {};
      const all = controls ? controls.values() : {};
      for (const key of ['temperature', 'seed', 'qpm']) if (key in all) options[key] = all[key];
      await runJob(
        'attribute',
        { model: select.value, take: take.id, attribute, amount, ...options },
        { take: (d) => card.setTake(d.data) },
      );
      const result = card.take.info;
      studio.setStatus(varyStatus, `${ATTRIBUTE_LABELS[attribute] || attribute}: ${result.before.toFixed(2)} → ${result.after.toFixed(2)}`);
    } catch (error) {
      card.fail('failed');
      studio.setStatus(varyStatus, error.message, true);
    }
  }

  run.addEventListener('click', async () => {
    let options;
    try {
      options = controls.values();
    } catch (error) {
      studio.setStatus(status, error.message, true);
      return;
    }
    const body = { model: select.value, steps: Number(steps.value), spherical: spherical.checked, ...options };
    if (model.capabilities.interpolate_scores) {
      if (!a.value || !b.value) {
        studio.setStatus(status, 'choose two melodies, A and B (upload them or use takes)', true);
        return;
      }
      body.a = a.value;
      body.b = b.value;
    }
    abort = new AbortController();
    run.disabled = true;
    stop.disabled = false;
    strip.replaceChildren();
    const cards = new Map();
    studio.setStatus(status, 'queued…');
    try {
      const done = await runJob(
        'interpolate',
        body,
        {
          started: () => studio.setStatus(status, 'interpolating…'),
          'take-start': (d) => {
            const card = new TakeCard(studio, `step ${d.take + 1} of ${d.of}`);
            strip.append(card.element);
            cards.set(d.take, card);
          },
          take: (d) => cards.get(d.take)?.setTake(d.data),
        },
        abort.signal,
      );
      studio.setStatus(status, `${done.takes.length} steps`);
    } catch (error) {
      studio.setStatus(status, abort.signal.aborted ? 'stopped' : error.message, !abort.signal.aborted);
    } finally {
      abort = null;
      run.disabled = !model;
      stop.disabled = true;
    }
  });
  stop.addEventListener('click', () => abort && abort.abort());
  select.addEventListener('change', () => choose(select.value));
  studio.addEventListener('models', () => {
    fillModelSelect(select, studio.models, (m) => m.capabilities.interpolate, { preferred: 'nottingham-vae' });
    choose(select.value);
  });

  return {
    setEnd(which, take) {
      (which === 'a' ? a : b).value = take.id;
    },
    setVary(take) {
      varyTake.value = take.id;
    },
  };
}
