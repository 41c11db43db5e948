// Duet (call and response, after Google's A.I. Duet): the musician plays a phrase on a MIDI keyboard (Web MIDI), the
// on-screen piano or the computer keyboard; after a silence (600 ms by default) or at the longest phrase length (3 s)
// the phrase goes to the model, whose answer is played and drawn as its notes stream in. Every exchange is kept as a
// take (your phrase and the answer on two tracks) that can be played again and downloaded.

import { runJob } from './api.js';
import { buildControls, fillModelSelect, latestModelLoader } from './controls.js';
import { PianoRoll } from './pianoroll.js';
import { TakeCard } from './takes.js';

const LOWEST = 60; // the on-screen piano: C4 ..
const HIGHEST = 84; // .. C6
// The computer keyboard: a row of white keys (A S D F G H J K L ;) with the black keys above (W E T Y U O P).
const KEYS = { a: 60, w: 61, s: 62, e: 63, d: 64, f: 65, t: 66, g: 67, y: 68, h: 69, u: 70, j: 71, k: 72, o: 73, l: 74, p: 75, ';': 76 };
const USER_CHANNEL = 0;
const ANSWER_CHANNEL = 1;

export function setupDuet(studio) {
  const $ = (id) => document.getElementById(id);
  const select = $('duet-model');
  const form = $('duet-controls');
  const silenceInput = $('duet-silence');
  const maxPhraseInput = $('duet-max-phrase');
  const barsInput = $('duet-bars');
  const qpmInput = $('duet-qpm');
  const midiStatus = $('duet-midi');
  const status = $('duet-status');
  const takes = $('duet-takes');
  const roll = new PianoRoll($('duet-roll'));
  const piano = buildPiano($('duet-piano'));
  let controls = null;
  let exchanges = 0;
  const state = { exchanges: [], lastLatencyMs: null, answering: 0, midiInputs: [] };
  studio.duet = state;

  // ---- the phrase being played -----------------------------------------------------------------------------------
  let phrase = { notes: [], held: new Map(), t0: null };
  let silenceTimer = null;
  let lengthTimer = null;
  const seconds = () => performance.now() / 1000;

  function press(pitch, velocity = 96) {
    studio.player.start().catch(() => {});
    studio.player.noteOn(USER_CHANNEL, pitch, velocity);
    piano.light(pitch, 'down', true);
    clearTimeout(silenceTimer);
    const now = seconds();
    if (phrase.t0 === null) {
      phrase.t0 = now;
      lengthTimer = setTimeout(sendPhrase, Number(maxPhraseInput.value) * 1000);
      roll.clear();
    }
    phrase.held.set(pitch, { start: now - phrase.t0, velocity });
  }

  function release(pitch) {
    studio.player.noteOff(USER_CHANNEL, pitch);
    piano.light(pitch, 'down', false);
    const held = phrase.held.get(pitch);
    if (!held || phrase.t0 === null) return;
    phrase.held.delete(pitch);
    const note = { pitch, start: held.start, end: Math.max(held.start + 0.05, seconds() - phrase.t0), velocity: held.velocity };
    phrase.notes.push(note);
    roll.addNotes([toBeats(note)], 'user');
    if (phrase.held.size === 0) silenceTimer = setTimeout(sendPhrase, Number(silenceInput.value));
  }

  const toBeats = (note) => {
    const beatsPerSecond = Number(qpmInput.value) / 60;
    return { track: 0, pitch: note.pitch, start: note.start * beatsPerSecond, end: note.end * beatsPerSecond, velocity: note.velocity };
  };

  function sendPhrase() {
    clearTimeout(silenceTimer);
    clearTimeout(lengthTimer);
    if (phrase.t0 === null) return;
    const now = seconds() - phrase.t0;
    // Keys still down at the longest phrase length end there.
    for (const [pitch, held] of phrase.held)
      phrase.notes.push({ pitch, start: held.start, end: Math.max(held.start + 0.05, now), velocity: held.velocity });
    const notes = phrase.notes.sort((a, b) => a.start - b.start);
    phrase = { notes: [], held: new Map(), t0: null };
    if (notes.length) answer(notes);
  }

  // ---- the model's answer -------------------------------------------------------------------------------------------
  async function answer(notes) {
    let options;
    try {
      options = controls ? controls.values() : {};
    } catch (error) {
      studio.setStatus(status, error.message, true);
      return;
    }
    if (options.seed !== undefined) options.seed += exchanges;
    exchanges++;
    const qpm = Number(qpmInput.value);
    const secondsPerBeat = 60 / qpm;
    const sent = performance.now();
    let firstBeat = null;
    let answerStart = 0;
    let firstNoteMs = null;
    const card = new TakeCard(studio, `exchange ${exchanges}`, { uses: ['continue', 'a', 'b', 'vary'] });
    card.roll.setTake({ tracks: [{ role: 'user' }], notes: notes.map(toBeats) });
    takes.prepend(card.element);
    state.answering++;
    studio.setStatus(status, 'the model is answering…');
    try {
      await studio.player.start();
      await runJob(
        'duet',
        { model: select.value, phrase: notes, qpm, bars: Number(barsInput.value), ...options },
        {
          notes: (d) => {
            if (firstBeat === null) {
              firstNoteMs = performance.now() - sent;
              state.lastLatencyMs = firstNoteMs;
              firstBeat = d.notes.reduce((low, n) => Math.min(low, n.start), Infinity);
              answerStart = studio.player.now() + 0.05;
            }
            for (const note of d.notes) {
              const on = answerStart + (note.start - firstBeat) * secondsPerBeat;
              const off = answerStart + (note.end - firstBeat) * secondsPerBeat;
              studio.player.noteOn(ANSWER_CHANNEL, note.pitch, note.velocity || 100, on);
              studio.player.noteOff(ANSWER_CHANNEL, note.pitch, off);
              const now = studio.player.now();
              setTimeout(() => piano.light(note.pitch, 'answer', true), Math.max(0, (on - now) * 1000));
              setTimeout(() => piano.light(note.pitch, 'answer', false), Math.max(0, (off - now) * 1000));
            }
            roll.addNotes(d.notes, 'model');
            card.addNotes(d.notes, 'model');
          },
          take: (d) => {
            card.setTake(d.data);
            state.exchanges.push(d.data);
          },
        },
      );
      studio.setStatus(
        status,
        firstNoteMs === null ? 'the model answered with silence' : `answered: first note ${Math.round(firstNoteMs)} ms after the phrase`,
      );
    } catch (error) {
      card.fail('failed');
      studio.setStatus(status, error.message, true);
    } finally {
      state.answering--;
    }
  }

  // ---- inputs -------------------------------------------------------------------------------------------------------
  piano.onPress = press;
  piano.onRelease = release;
  const down = new Set();
  const typing = (event) => event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement;
  window.addEventListener('keydown', (event) => {
    if (!studio.isTab('duet') || typing(event) || event.repeat || event.ctrlKey || event.metaKey || event.altKey) return;
    const pitch = KEYS[event.key.toLowerCase()];
    if (pitch === undefined || down.has(pitch)) return;
    down.add(pitch);
    press(pitch);
    event.preventDefault();
  });
  window.addEventListener('keyup', (event) => {
    const pitch = KEYS[event.key.toLowerCase()];
    if (pitch === undefined || !down.has(pitch)) return;
    down.delete(pitch);
    release(pitch);
  });

  let midiRequested = false;
  async function connectMidi() {
    if (midiRequested) return;
    midiRequested = true;
    if (!navigator.requestMIDIAccess) {
      midiStatus.textContent = 'MIDI: this browser has no Web MIDI (use the on-screen piano or the keyboard)';
      return;
    }
    try {
      const access = await navigator.requestMIDIAccess();
      const attach = () => {
        state.midiInputs = [];
        for (const input of access.inputs.values()) {
          input.onmidimessage = (message) => {
            const [statusByte, pitch, velocity] = message.data;
            const kind = statusByte & 0xf0;
            if (kind === 0x90 && velocity > 0) press(pitch, velocity);
            else if (kind === 0x80 || (kind === 0x90 && velocity === 0)) release(pitch);
          };
          state.midiInputs.push(input.name || input.id);
        }
        midiStatus.textContent = state.midiInputs.length
          ? `MIDI: ${state.midiInputs.join(', ')}`
          : 'MIDI: no input connected (plug one in, or use the on-screen piano)';
      };
      access.onstatechange = attach;
      attach();
    } catch (error) {
      midiStatus.textContent = `MIDI: ${error.message}`;
    }
  }

  studio.addEventListener('tab', (event) => {
    if (event.detail === 'duet') connectMidi();
  });
  select.addEventListener('change', () => choose(select.value));
  const loadLatest = latestModelLoader(studio);
  async function choose(id) {
    const { model, stale } = await loadLatest(id).catch(() => ({ model: null, stale: false }));
    if (stale) return;
    controls = model ? buildControls(form, model, { exclude: ['bars', 'variations', 'qpm', 'until_end', 'meter', 'key'] }) : null;
  }
  studio.addEventListener('models', () => {
    fillModelSelect(select, studio.models, (m) => m.capabilities.primer, { preferred: 'nottingham-lstm' });
    choose(select.value);
  });
  return state;
}

// The on-screen piano: white and black keys from LOWEST to HIGHEST, pressed with the pointer.
function buildPiano(container) {
  const piano = { onPress: null, onRelease: null, keys: new Map() };
  const whites = [];
  for (let pitch = LOWEST; pitch <= HIGHEST; pitch++) if (![1, 3, 6, 8, 10].includes(pitch % 12)) whites.push(pitch);
  const width = 100 / whites.length;
  let whiteIndex = 0;
  for (let pitch = LOWEST; pitch <= HIGHEST; pitch++) {
    const black = [1, 3, 6, 8, 10].includes(pitch % 12);
    const key = document.createElement('div');
    key.className = `key ${black ? 'black' : 'white'}`;
    key.dataset.pitch = String(pitch);
    if (black) {
      key.style.left = `${whiteIndex * width - width * 0.3}%`;
      key.style.width = `${width * 0.6}%`;
    } else {
      key.style.left = `${whiteIndex * width}%`;
      key.style.width = `${width}%`;
      if (pitch % 12 === 0) {
        const label = document.createElement('span');
        label.textContent = `C${pitch / 12 - 1}`;
        key.append(label);
      }
      whiteIndex++;
    }
    const start = (event) => {
      event.preventDefault();
      key.setPointerCapture?.(event.pointerId);
      if (piano.onPress) piano.onPress(pitch);
    };
    const end = () => {
      if (key.classList.contains('down') && piano.onRelease) piano.onRelease(pitch);
    };
    key.addEventListener('pointerdown', start);
    key.addEventListener('pointerup', end);
    key.addEventListener('pointercancel', end);
    container.append(key);
    piano.keys.set(pitch, key);
  }
  piano.light = (pitch, kind, on) => {
    const key = piano.keys.get(pitch);
    if (key) key.classList.toggle(kind, on);
  };
  return piano;
}
