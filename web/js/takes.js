// Take cards: a piano roll of the take (filling in while it is generated), Play / Stop / Loop in the browser, and
// downloads as MIDI and as WAV (rendered by the server with FluidSynth), plus "Use in" to send the take to another
// tab (as a primer, an interpolation end or the melody to vary).

import { PianoRoll } from './pianoroll.js';

function describe(take) {
  const parts = [];
  if (take.model) parts.push(take.model);
  parts.push(`${take.note_count ?? (take.notes || []).length} notes`);
  if (take.length_beats) parts.push(`${Math.round((take.length_beats / (take.beats_per_bar || 4)) * 10) / 10} bars`);
  const key = take.info && take.info.key; // "G", "Em"
  if (key) parts.push(key.endsWith('m') ? `${key.slice(0, -1)} minor` : `${key} major`);
  if (take.info && take.info.style) parts.push(take.info.style);
  if (take.info && take.info.chords) parts.push(`over ${take.info.chords}`);
  if (take.info && take.info.ended_by_model != null)
    parts.push(take.info.ended_by_model ? 'ended by the model' : 'cut at the length');
  if (take.info && take.info.generation_seconds != null) parts.push(`${take.info.generation_seconds.toFixed(2)} s`);
  if (take.info && take.info.after != null)
    parts.push(`${take.info.attribute} ${take.info.before.toFixed(2)} → ${take.info.after.toFixed(2)}`);
  return parts.join(' · ');
}

function button(text, title, onClick, className = 'small') {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  b.title = title;
  b.addEventListener('click', onClick);
  return b;
}

export class TakeCard {
  constructor(studio, label, { uses = ['continue', 'a', 'b', 'vary'] } = {}) {
    this.studio = studio;
    this.take = null;
    this.uses = uses;
    const card = document.createElement('article');
    card.className = 'take pending';
    const header = document.createElement('header');
    this.title = document.createElement('strong');
    this.title.textContent = label;
    this.meta = document.createElement('span');
    this.meta.className = 'meta';
    this.meta.textContent = 'waiting…';
    header.append(this.title, this.meta);
    const canvas = document.createElement('canvas');
    canvas.className = 'roll';
    canvas.height = 120;
    this.roll = new PianoRoll(canvas);
    this.actions = document.createElement('div');
    this.actions.className = 'actions';
    card.append(header, canvas, this.actions);
    this.element = card;
    this.canvas = canvas;
  }

  // Notes streamed while the take is generated.
  addNotes(notes, role = 'model') {
    this.studio.stats.notesEvents++;
    this.studio.stats.streamedNotes += notes.length;
    this.roll.addNotes(notes, role);
    this.meta.textContent = `generating… ${this.roll.notes.length} notes`;
  }

  // The take is done: its final notes, and its buttons.
  setTake(take) {
    this.take = take;
    this.studio.remember(take);
    this.element.classList.remove('pending');
    this.element.dataset.takeId = take.id;
    this.title.textContent = take.name;
    this.meta.textContent = describe(take);
    this.roll.setTake(take);
    const loop = document.createElement('input');
    loop.type = 'checkbox';
    const loopLabel = document.createElement('label');
    loopLabel.append(loop, document.createTextNode('loop'));
    loop.addEventListener('change', () => {
      if (this.studio.player.isPlaying(take)) this.studio.player.playing.loop = loop.checked;
    });
    const play = button('▶ Play', 'Play this take', async () => {
      try {
        this.element.classList.add('playing');
        await this.studio.player.play(take, {
          loop: loop.checked,
          onPosition: (beat) => this.roll.setPlayhead(beat),
          onEnd: () => this.element.classList.remove('playing'),
        });
      } catch (error) {
        this.element.classList.remove('playing');
        this.studio.showError(`Cannot play: ${error.message}`);
      }
    });
    play.classList.add('play');
    const stop = button('■ Stop', 'Stop playing', () => this.studio.player.stop());
    stop.classList.add('stop');
    const midi = document.createElement('a');
    midi.href = `/api/takes/${take.id}.mid`;
    midi.download = '';
    midi.textContent = 'MIDI';
    midi.className = 'download-midi';
    const wav = document.createElement('a');
    wav.href = `/api/takes/${take.id}.wav`;
    wav.download = '';
    wav.textContent = 'WAV';
    wav.className = 'download-wav';
    this.actions.replaceChildren(play, stop, loopLabel, midi, wav);
    if (this.uses.length) {
      const use = document.createElement('select');
      use.className = 'use';
      use.append(new Option('Use in…', ''));
      const names = { continue: 'Continue (primer)', a: 'Interpolate: A', b: 'Interpolate: B', vary: 'Vary' };
      for (const target of this.uses) use.append(new Option(names[target], target));
      use.addEventListener('change', () => {
        if (use.value) this.studio.useTake(take, use.value);
        use.value = '';
      });
      this.actions.append(use);
    }
  }

  fail(message) {
    this.element.classList.remove('pending');
    this.meta.textContent = message;
  }
}
