// Continue: the musician's MIDI file (uploaded or dropped) or any take, cut where the primer should end, continued by
// a model. The primer is drawn in blue and the model's notes in orange.

import { runJob, uploadMidi } from './api.js';
import { buildControls, fillModelSelect, latestModelLoader } from './controls.js';
import { PianoRoll } from './pianoroll.js';
import { TakeCard } from './takes.js';

export function setupContinue(studio) {
  const $ = (id) => document.getElementById(id);
  const drop = $('continue-drop');
  const file = $('continue-file');
  const takeSelect = $('continue-take');
  const end = $('continue-end');
  const endRange = $('continue-end-range');
  const select = $('continue-model');
  const info = $('continue-model-info');
  const form = $('continue-controls');
  const run = $('continue-run');
  const stop = $('continue-stop');
  const status = $('continue-status');
  const takes = $('continue-takes');
  const roll = new PianoRoll($('continue-roll'));
  let primer = null;
  let controls = null;
  let abort = null;

  const primerEnd = () => Number(end.value);
  // The primer as the musician's notes: every track is "user" here, whoever made the take.
  const asUser = (take, until = Infinity) => ({
    ...take,
    tracks: take.tracks.map((track) => ({ ...track, role: 'user' })),
    notes: take.notes.filter((note) => note.start < until),
  });

  function setPrimer(take) {
    primer = take;
    const length = Math.max(1, Math.ceil(take.length_beats));
    end.max = endRange.max = String(length);
    end.value = endRange.value = String(length);
    roll.setTake(asUser(take));
    roll.setMarker(length);
    if (![...takeSelect.options].some((o) => o.value === take.id)) studio.refreshTakeSelects();
    takeSelect.value = take.id;
    updateButton();
  }

  function setEnd(value) {
    const clamped = Math.min(Math.max(1, Number(value) || 1), Number(end.max) || 1);
    end.value = endRange.value = String(clamped);
    roll.setMarker(clamped);
  }
  end.addEventListener('input', () => setEnd(end.value));
  endRange.addEventListener('input', () => setEnd(endRange.value));

  async function load(fileObject) {
    if (!fileObject) return;
    studio.setStatus(status, `reading ${fileObject.name}…`);
    try {
      const take = await uploadMidi(fileObject);
      studio.remember(take);
      setPrimer(take);
      studio.setStatus(status, `${fileObject.name}: ${take.note_count} notes, ${take.length_beats.toFixed(1)} beats`);
    } catch (error) {
      studio.setStatus(status, error.message, true);
    }
  }
  file.addEventListener('change', () => load(file.files[0]));
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    load(event.dataTransfer.files[0]);
  });
  takeSelect.addEventListener('change', () => {
    const take = studio.takes.get(takeSelect.value);
    if (take) setPrimer(take);
  });

  function updateButton() {
    run.disabled = !primer || !controls || !controls.model || abort != null;
  }

  const loadLatest = latestModelLoader(studio);
  async function choose(id) {
    try {
      const { model, stale } = await loadLatest(id);
      if (stale) return;
      info.textContent = model ? model.description : 'No model here can continue a piece.';
      // A continuation keeps its primer's meter and key.
      controls = model ? buildControls(form, model, { exclude: ['meter', 'key'] }) : null;
      if (!model) form.replaceChildren();
    } catch (error) {
      studio.setStatus(status, error.message, true);
    }
    updateButton();
  }
  select.addEventListener('change', () => choose(select.value));
  studio.addEventListener('models', () => {
    fillModelSelect(select, studio.models, (m) => m.capabilities.primer, { preferred: 'nottingham-lstm' });
    choose(select.value);
  });

  run.addEventListener('click', async () => {
    let options;
    try {
      options = controls.values();
    } catch (error) {
      studio.setStatus(status, error.message, true);
      return;
    }
    abort = new AbortController();
    updateButton();
    stop.disabled = false;
    const cut = primerEnd();
    const cards = new Map();
    const anchor = takes.firstChild;
    studio.setStatus(status, 'queued…');
    try {
      const done = await runJob(
        'continue',
        { model: select.value, take: primer.id, primer_end: cut, ...options },
        {
          queued: (d) => studio.setStatus(status, d.ahead ? `waiting: ${d.ahead} job(s) ahead…` : 'starting…'),
          started: () => studio.setStatus(status, 'continuing…'),
          'take-start': (d) => {
            const card = new TakeCard(studio, `continuation ${d.take + 1} of ${d.of}`, { uses: ['continue', 'a', 'b', 'vary'] });
            card.roll.setTake(asUser(primer, cut));
            takes.insertBefore(card.element, anchor);
            cards.set(d.take, card);
          },
          notes: (d) => cards.get(d.take)?.addNotes(d.notes, 'model'),
          take: (d) => cards.get(d.take)?.setTake(d.data),
        },
        abort.signal,
      );
      studio.setStatus(status, `${done.takes.length} continuation${done.takes.length === 1 ? '' : 's'}`);
    } catch (error) {
      for (const card of cards.values()) if (!card.take) card.fail(abort.signal.aborted ? 'stopped' : 'failed');
      studio.setStatus(status, abort.signal.aborted ? 'stopped' : error.message, !abort.signal.aborted);
    } finally {
      abort = null;
      stop.disabled = true;
      updateButton();
    }
  });
  stop.addEventListener('click', () => abort && abort.abort());

  return { setPrimer };
}
